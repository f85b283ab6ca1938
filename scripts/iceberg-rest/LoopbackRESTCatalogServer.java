// Apache Iceberg's REST catalog fixture (org.apache.iceberg.rest.RESTCatalogServer, 1.10.0)
// bound to one address: 127.0.0.1 unless CATALOG_REST_HOST says otherwise. The fixture's own
// main() serves on every interface (new org.eclipse.jetty.server.Server(port)) and has no
// option for the host, so this does what its start() does with the fixture's own pieces -- its
// catalog set-up (the CATALOG_* environment variables, JdbcCatalog by default) and its
// RESTServerCatalogAdapter, both package-private, reached by reflection -- and opens a
// connector on the given host only. Java runs it from source (no build step):
//   CATALOG_URI=jdbc:sqlite:/path/catalog.db CATALOG_WAREHOUSE=file:///path/wh \
//   CATALOG_REST_PORT=8181 java -cp "DIR/*" scripts/iceberg-rest/LoopbackRESTCatalogServer.java
// where DIR holds the jars scripts/iceberg-rest/pom.xml names.
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.Map;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.apache.iceberg.util.PropertyUtil;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.gzip.GzipHandler;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

public class LoopbackRESTCatalogServer {
  public static void main(String[] args) throws Exception {
    Class<?> fixtureClass = Class.forName("org.apache.iceberg.rest.RESTCatalogServer");
    Constructor<?> fixtureCtor = fixtureClass.getDeclaredConstructor();
    fixtureCtor.setAccessible(true);
    Method initialize = fixtureClass.getDeclaredMethod("initializeBackendCatalog");
    initialize.setAccessible(true);
    Object context = initialize.invoke(fixtureCtor.newInstance());

    Class<?> contextClass = Class.forName("org.apache.iceberg.rest.RESTCatalogServer$CatalogContext");
    Method configuration = contextClass.getDeclaredMethod("configuration");
    configuration.setAccessible(true);
    @SuppressWarnings("unchecked")
    Map<String, String> config = (Map<String, String>) configuration.invoke(context);

    Class<?> adapterClass = Class.forName("org.apache.iceberg.rest.RESTServerCatalogAdapter");
    Constructor<?> adapterCtor = adapterClass.getDeclaredConstructor(contextClass);
    adapterCtor.setAccessible(true);
    RESTCatalogAdapter adapter = (RESTCatalogAdapter) adapterCtor.newInstance(context);

    // As RESTCatalogServer.start(), but for the connector (and without SO_REUSEPORT, so a
    // port still held by another server fails the start instead of being shared).
    ServletContextHandler handler = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    handler.addServlet(new ServletHolder(new RESTCatalogServlet(adapter)), "/*");
    handler.insertHandler(new GzipHandler());

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost(PropertyUtil.propertyAsString(config, "rest.host", "127.0.0.1"));
    connector.setPort(PropertyUtil.propertyAsInt(config, "rest.port", 8181));
    server.addConnector(connector);
    server.setHandler(handler);
    server.setStopAtShutdown(true);
    server.start();
    System.err.println("iceberg-rest: listening on " + connector.getHost() + ":" + connector.getLocalPort());
    server.join();
  }
}
