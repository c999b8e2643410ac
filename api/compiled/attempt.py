"""What the door (api.compiled.door) leaves the controller when it gives up after running a
document's reports: the executor answers with their refusals, and the compiled path does not
run them again (a report cut off by its timeout would take twice as long)."""

from dataclasses import dataclass, field

# The request state's key of the door's Attempt.
COMPILED_ATTEMPT = "clicktrail.compiled_attempt"


@dataclass(slots=True)
class Attempt:
    # Refusals by response key (api.compiled.report.answer).
    refusals: dict[str, Exception] = field(default_factory=dict)
    reports_run: bool = False
