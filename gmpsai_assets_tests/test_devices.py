from pathlib import Path

import pytest

from gmpsai_assets.acnet.devices import (
    DeviceListError,
    DeviceNameError,
    check_device_name,
    load_device_list,
    parse_device_list,
    property_of,
)


def test_packaged_team_list_parses_with_trailing_spaces():
    entries = load_device_list()
    names = [e.device for e in entries]
    assert len(names) == 47
    assert {"B:VIMIN", "B_VIMIN", "B:DCPG", "I:IB", "B:LINFRQ", "B|GMPSSC"} <= set(names)
    assert all(e.node == "MLrn" for e in entries)


@pytest.mark.parametrize("name", ["B:VIMIN", "B_VIMIN", "B|GMPSSC", "I:IB", "G:SCTIME",
                                  "B@IMIN", "B$GMPS", "B&GMPS", "B:A_LONGER_NAME_2"])
def test_valid_names(name):
    assert check_device_name(name) == name


@pytest.mark.parametrize("name", ["", "B", "B:", "b:vimin", "B:VIMIN;read", "B:VIMIN\\;x",
                                  "B:VI MIN", "B#VIMIN", "BB:VIMIN", "B:VIMIN'", "B:VIMIN+",
                                  "B:" + "X" * 70])
def test_invalid_names(name):
    with pytest.raises(DeviceNameError):
        check_device_name(name)


def test_property_kinds():
    assert property_of("B:VIMIN") == "reading"
    assert property_of("B_VIMIN") == "setting"
    assert property_of("B|GMPSSC") == "basic status"


def test_comments_blank_lines_and_spaces_tolerated():
    text = "# the list\n\nMLrn B:VIMIN   \n  MLrn   I:IB  # beam\n\n"
    assert [e.device for e in parse_device_list(text)] == ["B:VIMIN", "I:IB"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("MLrn B:VIMIN\nMLrn B:VIMIN;read/G:SCTIME\n", "list.txt:2: not a valid ACNET device"),
        ("MLrn B:VIMIN\nMLrn B:VIMAX extra\n", "list.txt:2: expected 'NODE DEVICE'"),
        ("MLrn\n", "list.txt:1: expected 'NODE DEVICE'"),
        ("ML;rn B:VIMIN\n", "list.txt:1: not a valid DataLogger node"),
        ("MLrn B:VIMIN\n\nMLrn B:VIMIN\n", "list.txt:3: B:VIMIN already listed on line 1"),
        ("# nothing\n", "list.txt: no devices listed"),
    ],
)
def test_bad_lines_name_file_and_line(text, fragment):
    with pytest.raises(DeviceListError) as err:
        parse_device_list(text, "list.txt")
    assert fragment in str(err.value)


def test_several_bad_lines_counted():
    with pytest.raises(DeviceListError, match=r"list.txt:1: .*\(and 1 more\)"):
        parse_device_list("MLrn B:A;B\nMLrn B:C\\;D\n", "list.txt")


def test_unreadable_file(tmp_path: Path):
    with pytest.raises(DeviceListError, match="cannot read device list"):
        load_device_list(tmp_path / "missing.txt")
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DeviceListError, match="cannot read device list"):
        load_device_list(binary)
