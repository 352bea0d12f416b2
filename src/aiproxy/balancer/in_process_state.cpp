// in_process_state: shared_state for the worker threads of one process.
// (Being written; the factory below is its entry point.)

#include "aiproxy/balancer/state.hpp"
