"""LTI 1.3: the protocol side of Circolo, free of Flask views where possible.

- `lti.errors`: `LtiError`, one stable code per failed check.
- `lti.keys`: the tool's keys (`current_signing_key`, `rotate_keys`, `tool_jwks`).
- `lti.jwks`: platform key sets, cached with a re-fetch cool-down (`PlatformKeySets`).
- `lti.launch`: `validate_launch` → `LaunchMessage`.
- `lti.roles`: `map_roles` (teacher or learner).
- `lti.deep_linking`: `build_deep_linking_response`.
"""
