import pytest

from provisioner.domain.mac import normalise_mac


@pytest.mark.parametrize(
    "text",
    ["001565a00001", "00:15:65:A0:00:01", "00-15-65-a0-00-01", "0015.65a0.0001", " 001565A00001 "],
)
def test_every_common_form_becomes_twelve_lower_case_hex_digits(text: str) -> None:
    assert normalise_mac(text) == "001565a00001"


@pytest.mark.parametrize("text", ["", "00156", "001565a0000g", "001565a000011", "01005e000001"])
def test_malformed_or_multicast_mac_is_refused_and_named(text: str) -> None:
    with pytest.raises(ValueError, match=r"MAC|multicast"):
        normalise_mac(text)
