"""The claims the provider gives: `name` (scope profile), `phone_number` (scope phone) and the verified ID
number `id_number` in a scope of its own, `id_card`, as a government identity provider would."""

from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    """OIDC_USERINFO: the standard claims from the person's verified record."""
    person = user.person
    claims["name"] = person.real_name
    claims["phone_number"] = person.phone
    claims["phone_number_verified"] = bool(person.phone)
    return claims


class IdentityScopeClaims(ScopeClaims):
    """OIDC_EXTRA_SCOPE_CLAIMS."""

    info_id_card = ("居民身份证", "您经实名核验的居民身份证号码")

    def scope_id_card(self):
        return {"id_number": self.user.person.id_number}
