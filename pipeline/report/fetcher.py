"""The safe URL fetcher of the PDF: WeasyPrint may load data: URLs and the project's own assets, nothing else."""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse

from pipeline.templating import TEMPLATES

logger = logging.getLogger(__name__)

ASSETS = TEMPLATES / "assets"


class RefusedURLError(ValueError):
    """The report tried to load a resource that is neither a data: URL nor one of the project's assets."""


class AssetFetcher(URLFetcher):
    """WeasyPrint fetcher serving only data: URLs and files under templates/assets/; everything else is refused."""

    def __init__(self, assets: Path = ASSETS) -> None:
        # No redirects and only two schemes, even before our own check below.
        super().__init__(allowed_protocols=("data", "file"), allow_redirects=False, fail_on_errors=False)
        self._root = assets.resolve()

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        """Return the resource at *url*, or raise RefusedURLError."""
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = self._asset(url)
            if path is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": content_type})
        logger.warning("refused to fetch %s: only data: URLs and the report's own assets are allowed", url[:200])
        raise RefusedURLError(f"refused: {url[:200]}")

    def _asset(self, url: str) -> Path | None:
        """The file *url* names when it is a regular file inside the assets folder (symlinks resolved)."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        path = Path(url2pathname(parts.path)).resolve()
        if not path.is_relative_to(self._root) or not path.is_file():
            return None
        return path
