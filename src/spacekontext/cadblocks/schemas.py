from __future__ import annotations

from pydantic import Field, computed_field

from spacekontext.http.schemas import ApiInput, ApiModel


class CadBlockRead(ApiModel):
    id: str
    slug: str
    name: str
    category: str
    subcategory: str | None
    description: str | None
    tags: list[str]
    width_m: float | None
    depth_m: float | None
    height_m: float | None
    is_public: bool
    dxf_url: str
    thumbnail_url: str

    # The web client's names (metres, as ours).
    @computed_field  # type: ignore[prop-decorator]
    @property
    def width(self) -> float | None:
        return self.width_m

    @computed_field  # type: ignore[prop-decorator]
    @property
    def depth(self) -> float | None:
        return self.depth_m


class CadBlockUpload(ApiInput):
    """The form fields that come with an uploaded block DXF."""

    name: str = Field(min_length=1, max_length=255)
    category: str = Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")
    subcategory: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,63}$")
    tags: list[str] = Field(default_factory=list, max_length=32)
    description: str | None = Field(default=None, max_length=2000)
    height_m: float | None = Field(default=None, gt=0, le=100)
    is_public: bool = True
