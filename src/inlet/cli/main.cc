#include "inlet/cli/commands.h"

int main(int argc, char** argv) { return inlet::cli::Run(argc, argv); }
