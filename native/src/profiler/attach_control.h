// Recording in a process the tracer was attached to from outside (`memnb attach PID`).
//
// The attaching process passes a request as the attach's client data (DiagnosticsClient.AttachProfiler):
//
//   memnb-attach 1
//   output=/abs/path/capture.memnb
//   options=sampled[,native]
//   control=/abs/path/of/a/folder/the/attaching/process/owns
//   controller=<pid of the attaching process>
//
// Once the runtime has finished the attach (ProfilerAttachComplete), a thread of the tracer starts the
// recording and writes the folder's `state` file; it stops when a `stop` file appears in the folder or the
// controller exits, then asks the runtime to detach the tracer (RequestProfilerDetach). States, one line each:
// `recording`, `error <message>` (nothing was recorded), `stopped` or `stopped <error>`, then `detached` (the
// runtime unloaded the tracer) or `idle <reason>` (the runtime kept it loaded, doing nothing).
//
// An idle tracer listens on the abstract Unix socket "\0memnb-idle-<pid>": the next memnb attach, finding the
// tracer mapped, connects there (peers of another user are refused), sends the same request text, closes its
// sending side and reads one line, `ok` or `error <message>`; the tracer then records as after an attach, with
// the new request's control folder, and stops listening until it is idle again.
#pragma once
#include <string>

namespace memnb {

// Parses the client data of InitializeForAttach. Returns false (with *error) for a request that is not ours
// or malformed; an empty client data is not a request (the process attached the tracer to itself).
bool attach_request_parse(const void* data, unsigned size, bool* present, std::string* error);

// From ProfilerAttachComplete: starts the control thread when a request was parsed.
void attach_request_begin();

// From ProfilerDetachSucceeded: the control thread has ended; reports `detached`.
void attach_request_detached();

}  // namespace memnb
