#include "inlet/cli/commands.h"
#include "inlet/table.h"

int main(int argc, char** argv) {
  int code = inlet::cli::Run(argc, argv);
  inlet::FinalizeObjectStorage();
  return code;
}
