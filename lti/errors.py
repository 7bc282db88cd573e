"""One exception family for LTI: a stable code per failed check and a message for people.

Messages are marked with `N_` for extraction into the `lti` catalogue and translated where they
are shown (the Flask side), so this package needs no request context.
"""

from __future__ import annotations


def N_(message: str) -> str:  # noqa: N802 - the gettext marker's conventional name
    """Mark `message` for translation without translating it here."""
    return message


LAUNCH_AGAIN = N_("Go back to your course and open Circolo again.")

#: Every failed check: its code → (HTTP status, message for people).
CHECKS: dict[str, tuple[int, str]] = {
    # login initiation
    "login_param_missing": (400, N_("The platform did not send everything needed to sign you "
                                    "in (issuer, login hint and target link).")),
    "platform_unknown": (400, N_("This Moodle site is not registered with Circolo. Ask your "
                                 "site administrator to register it.")),
    "target_link_uri_foreign": (400, N_("The link you followed does not point to Circolo.")),
    # state and nonce
    "state_missing": (400, N_("The sign-in from your course did not complete.")),
    "state_unknown": (400, N_("This sign-in is unknown.")),
    "state_used": (400, N_("This sign-in was already used.")),
    "state_expired": (400, N_("This sign-in took too long and has expired.")),
    "state_not_bound": (400, N_("This sign-in was started in another browser.")),
    "nonce_missing": (400, N_("The sign-in from your course could not be verified.")),
    "nonce_mismatch": (400, N_("The sign-in from your course could not be verified.")),
    # the token itself
    "id_token_missing": (400, N_("The platform did not send a sign-in token.")),
    "token_malformed": (400, N_("The sign-in token is not valid.")),
    "token_bad_algorithm": (400, N_("The sign-in token is not signed in a way Circolo accepts.")),
    "token_no_kid": (400, N_("The sign-in token does not say which key signed it.")),
    "token_unknown_kid": (400, N_("The sign-in token was signed with a key the platform does "
                                  "not publish.")),
    "token_bad_signature": (400, N_("The sign-in token's signature is not valid.")),
    "token_expired": (400, N_("The sign-in token has expired. Check that this computer's clock "
                              "is right.")),
    "token_not_yet_valid": (400, N_("The sign-in token is dated in the future. Check that the "
                                    "platform's clock is right.")),
    "token_bad_timestamp": (400, N_("The sign-in token's dates are not valid.")),
    "jwks_unavailable": (502, N_("Circolo could not fetch the platform's public keys. Please "
                                 "try again in a moment.")),
    # claims
    "iss_missing": (400, N_("The sign-in token does not say which platform sent it.")),
    "iss_mismatch": (400, N_("The sign-in token comes from a different platform.")),
    "aud_missing": (400, N_("The sign-in token does not say who it is for.")),
    "aud_mismatch": (400, N_("The sign-in token is meant for another tool.")),
    "azp_missing": (400, N_("The sign-in token is meant for several tools and does not say "
                            "which one it was issued to.")),
    "azp_mismatch": (400, N_("The sign-in token was issued to another tool.")),
    "exp_missing": (400, N_("The sign-in token's dates are not valid.")),
    "iat_missing": (400, N_("The sign-in token's dates are not valid.")),
    "sub_missing": (400, N_("The sign-in token does not say who you are.")),
    "version_missing": (400, N_("The sign-in token does not say which LTI version it uses.")),
    "version_unsupported": (400, N_("The sign-in token uses an LTI version Circolo does not "
                                    "support (it needs 1.3.0).")),
    "message_type_missing": (400, N_("The sign-in token does not say what kind of launch it "
                                     "is.")),
    "message_type_unsupported": (400, N_("Circolo does not support this kind of launch.")),
    "deployment_missing": (400, N_("The sign-in token does not say which deployment of Circolo "
                                   "it is for.")),
    "deployment_unknown": (400, N_("This deployment of Circolo is not registered. Ask your site "
                                   "administrator to add it.")),
    "target_link_uri_missing": (400, N_("The sign-in token does not say where to go.")),
    "target_link_uri_mismatch": (400, N_("The sign-in token points somewhere other than where "
                                         "the sign-in started.")),
    "resource_link_missing": (400, N_("The sign-in token does not say which activity was "
                                      "opened.")),
    "roles_missing": (400, N_("The sign-in token does not list your roles.")),
    "deep_linking_settings_missing": (400, N_("The platform did not say where to send the "
                                              "chosen activity.")),
    "deep_linking_not_allowed": (403, N_("Only teachers can add Circolo to a course.")),
}


class LtiError(Exception):
    """A launch (or login) failed one check; `code` names the check, `detail` is for the log."""

    def __init__(self, code: str, detail: str = "") -> None:
        if code not in CHECKS:
            raise ValueError(f"unknown LTI check code {code!r}")
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail

    @property
    def status(self) -> int:
        return CHECKS[self.code][0]

    @property
    def message(self) -> str:
        """The English message; translate it with the `lti` catalogue where it is shown."""
        return CHECKS[self.code][1]
