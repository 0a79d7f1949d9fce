"""schemathesis against the OpenAPI schema: whatever it sends, the API answers without a
server error (5xx). Every operation, on each backend, as an administrator.

Cases are drawn with hypothesis from each operation's strategy (schemathesis' lazy pytest
fixture loader does not run under pytest 9, so the loop is ours).
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from web_support import Site

EXAMPLES = 25


def test_no_input_makes_a_server_error(site: Site) -> None:
    site.tracker.revise("conv", content=b"draft", filename="d.txt", as_user="drafter")
    headers = {"Authorization": f"Bearer {site.tokens['admin']}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", site.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        call()
