"""The one static server tests, bench and the PDF printer share, and the built-site
argument of the commands that read a build (cards, EPUB, PDF)."""

from __future__ import annotations

import argparse
import gzip
import socket
import time
import urllib.error
import urllib.request

import pytest

from mlsd_docs import cards, epub, pdf
from mlsd_docs.site import (
    new_page,
    page_path,
    parsed_site,
    require_built_site,
    serve,
    site_argument,
)


@pytest.fixture
def site(tmp_path):
    (tmp_path / "page").mkdir()
    # Larger than a socket buffer, so a hang-up lands mid-response.
    (tmp_path / "page" / "index.html").write_text("<p>hello</p>" * 20_000)
    return tmp_path


def fetch(url: str, **headers: str):
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
        return r.headers, r.read()


def test_serves_under_the_prefix(site):
    with serve(site, "/mlsd-guide/") as base:
        assert base.endswith("/mlsd-guide/")
        _, body = fetch(base + "page/")
        assert body.startswith(b"<p>hello</p>")


def test_gzip_only_when_asked_and_enabled(site):
    with serve(site, gzip=True) as base:
        headers, body = fetch(base + "page/", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(body).startswith(b"<p>hello</p>")
        headers, body = fetch(base + "page/")
        assert headers["Content-Encoding"] is None and body.startswith(b"<p>")
    with serve(site) as base:
        headers, _ = fetch(base + "page/", **{"Accept-Encoding": "gzip"})
        assert headers["Content-Encoding"] is None


def test_missing_files_are_404(site):
    with serve(site) as base, pytest.raises(urllib.error.HTTPError, match="404"):
        fetch(base + "nothing/")


def test_a_client_that_hangs_up_is_not_reported(site, capfd):
    with serve(site) as base:
        host, port = base.split("//")[1].rstrip("/").split(":")
        with socket.create_connection((host, int(port))) as conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
            conn.sendall(b"GET /page/ HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
    assert "Traceback" not in capfd.readouterr().err


def test_prefix_must_be_a_path():
    with (
        pytest.raises(ValueError, match="prefix must start and end"),
        serve(".", "mlsd-guide"),
    ):
        pass


def test_new_page_rejects_a_bad_scheme_or_search_flag_before_opening_anything():
    # The browser is never touched: the arguments are checked first.
    with pytest.raises(ValueError, match="color_scheme must be 'light' or 'dark'"):
        new_page(None, "blue")
    with pytest.raises(TypeError, match="search must be True or False"):
        new_page(None, "light", search="no")


def test_a_built_site_needs_its_index(tmp_path):
    with pytest.raises(
        ValueError, match=r"is not a built site \(no index.html\); run make build"
    ):
        require_built_site(tmp_path)
    with pytest.raises(TypeError, match="site must be a path, got int"):
        require_built_site(3)
    (tmp_path / "index.html").write_text("<p>home</p>")
    assert require_built_site(str(tmp_path)) == tmp_path


def test_the_site_argument_is_a_usage_error_when_not_built(tmp_path, capsys):
    parser = argparse.ArgumentParser(prog="x")
    site_argument(parser)
    with pytest.raises(SystemExit) as exit_info:
        parsed_site(parser, parser.parse_args(["--site", str(tmp_path)]))
    assert exit_info.value.code == 2
    assert "is not a built site" in capsys.readouterr().err
    (tmp_path / "index.html").write_text("<p>home</p>")
    assert parsed_site(parser, parser.parse_args(["--site", str(tmp_path)])) == tmp_path


@pytest.mark.parametrize("command", [cards.main, epub.main])
def test_cards_and_epub_refuse_a_folder_that_is_not_a_build(command, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command(["--site", str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"{tmp_path} is not a built site" in capsys.readouterr().err


def test_the_pdf_command_checks_both_sites_before_printing(
    tmp_path, capsys, monkeypatch
):
    def no_printing(*args, **kwargs):
        raise AssertionError("printed before the arguments were checked")

    monkeypatch.setattr(pdf, "build_pdf", no_printing)
    monkeypatch.setattr(pdf, "build_print_site", no_printing)
    out = str(tmp_path / "book.pdf")
    with pytest.raises(SystemExit) as exit_info:
        pdf.main([out, "--site", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "has no print_page/" in capsys.readouterr().err
    (tmp_path / "print_page").mkdir()
    (tmp_path / "print_page" / "index.html").write_text("<p>book</p>")
    edition = ["--edition", str(tmp_path / "e.pdf"), "--web-site", str(tmp_path / "no")]
    with pytest.raises(SystemExit) as exit_info:
        pdf.main([out, "--site", str(tmp_path), *edition])
    assert exit_info.value.code == 2
    assert "is not a built site" in capsys.readouterr().err


def test_a_page_path_is_its_url(tmp_path):
    assert page_path("index.md") == ""
    assert page_path("concepts/index.md") == "concepts/"
    assert page_path("concepts/features.md") == "concepts/features/"
    with pytest.raises(ValueError, match=r"ending in \.md"):
        page_path("concepts/features")
