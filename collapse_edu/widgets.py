"""Interactive controls around pure plotting functions.

Every interactive figure in the course is a pure function in the package (parameters in, a
matplotlib ``Figure`` out). :func:`interact_figure` wraps it: it draws the figure once with the
function's defaults as an ordinary cell output, so nbval, nbconvert, GitHub and nbviewer show it,
and when a live kernel is attached it adds controls that redraw that same output in place
(through a display id). Slow functions get a Run button instead of live updates.

Redraws are rendered here rather than by IPython's inline backend, which draws each figure twice
(a layout pass, then the picture cropped to its tight bounding box). A redrawn figure with the same
make-up as the first one (same size, axes in the same grid cells, same figure texts and legends)
reuses the axes positions that the layout engine computed for the first one, is drawn once with
the engine off at the figure's dpi (with a renderer kept between redraws, whose text caches serve
the labels the figures share), and is sent as a fast-compressed PNG. If one of its labels,
titles or figure legends would then stick out of the figure or into another axes, it is drawn
again with its layout engine, and later redraws reuse that layout instead.
"""

from __future__ import annotations

import base64
import inspect
import numbers
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

# zlib level of redrawn PNGs: level 1 encodes about 40% faster than the default 6, files ~5% larger
REDRAW_PNG_COMPRESSION = 1
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class Controls(widgets.VBox):
    """The control panel; its plain-text form tells a static reader how to use it."""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            names = ", ".join(w.description for w in self.children if getattr(w, "description", ""))
            bundle["text/plain"] = f"[controls: {names}; run this notebook in Jupyter to use them]"
        return bundle


def control(value: Any, spec: Any, name: str, continuous: bool) -> widgets.ValueWidget:
    """A widget from a short spec, in the spirit of ``ipywidgets.interact``:

    ``(min, max, step)`` of ints -> IntSlider; of floats -> FloatSlider; a list of options ->
    Dropdown; ``bool`` -> Checkbox; an ipywidgets widget is used as it is.
    """
    description = name.replace("_", " ")
    style = {"description_width": "initial"}
    layout = widgets.Layout(width="420px")
    if isinstance(spec, widgets.ValueWidget):
        return spec
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"control for {name!r}: the list of options is empty")
        if value not in spec:
            value = spec[0]
        return widgets.Dropdown(options=spec, value=value, description=description, style=style)
    if spec is bool:
        return widgets.Checkbox(value=bool(value), description=description)
    if isinstance(spec, tuple) and len(spec) == 3:
        low, high, step = spec
        if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec):
            raise TypeError(f"control for {name!r}: (min, max, step) must be numbers, got {spec!r}")
        if not (low < high and step > 0):
            raise ValueError(f"control for {name!r}: (min, max, step) needs min < max and step > 0, got {spec!r}")
        kind = widgets.IntSlider if all(isinstance(v, int) for v in spec) else widgets.FloatSlider
        return kind(
            value=value,
            min=low,
            max=high,
            step=step,
            description=description,
            continuous_update=continuous,
            style=style,
            layout=layout,
        )
    raise TypeError(
        f"control for {name!r} must be a (min, max, step) tuple, a list of options, bool or a widget; got {spec!r}"
    )


def interact_figure(
    make_figure: Callable[..., plt.Figure],
    *,
    run_button: bool = False,
    continuous_update: bool = False,
    enabled_when: Mapping[str, tuple[str, Any]] | None = None,
    **specs: Any,
) -> None:
    """Show ``make_figure()`` with its defaults, plus controls for the parameters in ``specs``.

    Each keyword names a parameter of ``make_figure`` and gives its control (see :func:`control`).
    Use ``run_button=True`` when one drawing takes more than a fraction of a second.
    ``enabled_when={"real_fraction": ("policy", "fresh-real")}`` greys out a control while another
    control's value makes it irrelevant (the second item: the value, or a list of values, that enable it).
    """
    parameters = inspect.signature(make_figure).parameters
    unknown = [name for name in specs if name not in parameters]
    if unknown:
        raise ValueError(
            f"{make_figure.__name__} has no parameter {', '.join(map(repr, unknown))}; it takes {', '.join(parameters)}"
        )
    missing_default = [name for name in specs if parameters[name].default is inspect.Parameter.empty]
    if missing_default:
        raise ValueError(f"parameters {', '.join(missing_default)} need a default value to start from")

    inputs = {name: control(parameters[name].default, spec, name, continuous_update) for name, spec in specs.items()}
    for name, rule in (enabled_when or {}).items():
        if not (isinstance(rule, tuple) and len(rule) == 2):
            raise TypeError(f"enabled_when[{name!r}] must be a pair (control, value that enables it), got {rule!r}")
        other, enabling = rule
        if name not in inputs or other not in inputs:
            raise ValueError(
                f"enabled_when names controls {name!r} and {other!r}; the controls are {', '.join(inputs)}"
            )
        enabling = list(enabling) if isinstance(enabling, (list, tuple, set)) else [enabling]

        def follow(
            *_: Any,
            target: widgets.Widget = inputs[name],
            source: widgets.Widget = inputs[other],
            enabling: list = enabling,
        ) -> None:
            target.disabled = source.value not in enabling

        follow()
        inputs[other].observe(follow, names="value")
    status = widgets.HTML()
    # where a redraw's progress bars show (a callback's own output goes to the log, out of sight); emptied after
    progress = widgets.Output()

    def draw() -> plt.Figure:
        figure = make_figure(**{name: w.value for name, w in inputs.items()})
        if not isinstance(figure, plt.Figure):
            raise TypeError(f"make_figure must return a matplotlib Figure, got {type(figure).__name__}")
        plt.close(figure)  # shown through the display handle only, never twice
        return figure

    first = draw()
    memory = LayoutMemory(first)
    handle = display(first, display_id=True)

    def redraw(*_: Any) -> None:
        status.value = "<i>drawing…</i>"
        outcome: list[plt.Figure | ValueError | TypeError] = []
        with progress:  # the redraw's progress bars show here; in a kernel, an unexpected error's traceback too
            try:
                outcome.append(draw())
            except (ValueError, TypeError) as error:  # a bad combination of settings
                outcome.append(error)
        if not outcome:  # the kernel showed the error in the progress area (and swallowed it): leave it there
            status.value = "<span style='color:#D55E00'>the figure could not be drawn: the error is below</span>"
            return
        progress.clear_output()
        if isinstance(outcome[0], plt.Figure):
            handle.update(png_bundle(outcome[0], memory), raw=True)
            status.value = ""
        else:  # say what is wrong, keep the old figure
            status.value = f"<span style='color:#D55E00'>{outcome[0]}</span>"

    children: list[widgets.Widget] = list(inputs.values())
    if run_button:
        button = widgets.Button(description="Run", button_style="primary", icon="play")
        button.on_click(redraw)
        children.append(button)
    else:
        for w in inputs.values():
            w.observe(redraw, names="value")
    children += [status, progress]
    display(Controls(children))


# --------------------------------------------------------------------------- fast redraws


def make_up(figure: Figure) -> tuple:
    """What a figure's layout depends on besides its text: size, the class, grid cell and visibility
    of each axes, and the number of figure texts, figure legends and subfigures."""
    cells = []
    for ax in figure.axes:
        spec = ax.get_subplotspec()
        cells.append((type(ax).__name__, spec.get_geometry() if spec is not None else None, ax.get_visible()))
    size = tuple(round(float(v), 4) for v in figure.get_size_inches())
    return size, tuple(cells), len(figure.texts), len(figure.legends), len(figure.subfigs)


@dataclass(frozen=True)
class FigureLayout:
    """The positions a layout engine gave a figure's axes (figure fractions) and figure texts
    (suptitle, supxlabel, ...), to give a redrawn figure of the same make-up."""

    make_up: tuple
    axes: tuple[Bbox, ...]
    texts: tuple[tuple[float, float], ...]

    @classmethod
    def of(cls, figure: Figure) -> FigureLayout:
        """The layout of ``figure`` as it was last drawn."""
        return cls(
            make_up(figure),
            tuple(ax.get_position(original=True).frozen() for ax in figure.axes),
            tuple(text.get_position() for text in figure.texts),
        )

    def apply(self, figure: Figure) -> bool:
        """Give ``figure`` these positions and switch its layout engine off; False (figure
        untouched) if its make-up differs or it has subfigures."""
        if figure.subfigs or make_up(figure) != self.make_up:
            return False
        figure.set_layout_engine("none")
        for ax, box in zip(figure.axes, self.axes, strict=True):
            in_layout = ax.get_in_layout()
            ax.set_position(box)
            ax.set_in_layout(in_layout)  # set_position takes it out of the layout; keep it as it was
        for text, xy in zip(figure.texts, self.texts, strict=True):
            text.set_position(xy)
        return True


class LayoutMemory:
    """The layout a widget's redraws reuse: the last one its layout engine computed, starting with
    that of the widget's first figure, recorded when that figure is first drawn.

    In a notebook the inline backend draws the first figure to show it, so recording costs
    nothing; elsewhere (plain Python, tests) :meth:`layout` lays it out once without rendering.
    Only its first draw counts: the inline backend's second draw is cropped to the tight bounding
    box, which changes the figure's size while it lasts."""

    def __init__(self, first: Figure) -> None:
        self.first = first
        self._layout: FigureLayout | None = None
        self._connection = first.canvas.mpl_connect("draw_event", self._record_first)

    def _record_first(self, _event: Any) -> None:
        self._layout = FigureLayout.of(self.first)
        self.first.canvas.mpl_disconnect(self._connection)

    def layout(self) -> FigureLayout:
        if self._layout is None:
            self.first.draw_without_rendering()  # emits draw_event
            if self._layout is None:
                self._layout = FigureLayout.of(self.first)
        return self._layout

    def remember(self, figure: Figure) -> None:
        """Reuse the layout of ``figure``, just laid out by its engine, from now on."""
        self._layout = FigureLayout.of(figure)


def _label_boxes(figure: Figure, renderer: Any) -> list[tuple[object, Bbox]]:
    """(owner, window extent) of each drawn axes title and axis label, figure text and legend."""
    boxes: list[tuple[object, Bbox]] = []
    for ax in figure.axes:
        if not ax.get_visible():
            continue
        texts: list[Text] = [ax.title]
        if ax.axison:
            texts += [ax.xaxis.label, ax.yaxis.label]
        boxes += [(ax, t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    boxes += [(t, t.get_window_extent(renderer)) for t in figure.texts if t.get_visible() and t.get_text()]
    boxes += [(legend, legend.get_window_extent(renderer)) for legend in figure.legends if legend.get_visible()]
    return boxes


def labels_collide(figure: Figure, renderer: Any, tolerance: float = 1.0) -> bool:
    """After a draw: does an axes title or axis label, a figure text or a figure legend stick out
    of the figure, or overlap another axes or another owner's label?"""
    frame = figure.bbox.padded(tolerance)
    boxes = [(owner, box.padded(-tolerance)) for owner, box in _label_boxes(figure, renderer)]
    areas = [(ax, ax.bbox) for ax in figure.axes if ax.get_visible()]
    for i, (owner, box) in enumerate(boxes):
        if box.width <= 0 or box.height <= 0:
            continue
        if not (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1):
            return True
        if any(ax is not owner and box.overlaps(area) for ax, area in areas):
            return True
        if any(other is not owner and box.overlaps(b) for other, b in boxes[i + 1 :]):
            return True
    return False


class SharedRendererCanvas(FigureCanvasAgg):
    """An Agg canvas that draws with a renderer kept for every figure of the same pixel size and
    dpi. Matplotlib caches text metrics and parsed mathtext per renderer, so a redraw with a new
    canvas would measure and parse every label afresh; with a shared renderer, the labels a
    redrawn figure has in common with earlier ones (tick labels, legend entries, axis labels) come
    from the cache. ``draw`` clears the renderer first, as Agg always does."""

    renderers: dict[tuple[int, int, float], RendererAgg] = {}
    KEEP = 4  # renderers kept (one per figure size and dpi in use), each holding its pixel buffer

    def get_renderer(self) -> RendererAgg:
        width, height = self.get_width_height(physical=True)
        key = (width, height, float(self.figure.dpi))
        renderer = self.renderers.pop(key, None)
        if renderer is None:
            renderer = RendererAgg(width, height, self.figure.dpi)
        self.renderers[key] = renderer  # most recently used last
        while len(self.renderers) > self.KEEP:
            del self.renderers[next(iter(self.renderers))]
        self.renderer = renderer
        return renderer


def render_png(figure: Figure, layout: FigureLayout | None = None) -> tuple[bytes, bool]:
    """``figure`` as a PNG at its own dpi, drawn once with ``layout``'s positions and the layout
    engine off when the make-up matches; else, or when labels then collide, laid out by its
    engine. A figure without a layout engine (axes placed by hand, or ``tight_layout()`` already
    called) is drawn as it is. Returns the PNG and whether ``layout`` was kept."""
    engine = figure.get_layout_engine()
    managed = engine is not None and not isinstance(engine, PlaceHolderLayoutEngine)
    reused = managed and layout is not None and layout.apply(figure)
    canvas = SharedRendererCanvas(figure)
    canvas.draw()
    if reused and labels_collide(figure, canvas.get_renderer()):
        figure.set_layout_engine(engine)
        canvas.draw()
        reused = False
    return encode_png(np.asarray(canvas.buffer_rgba())), reused


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray, level: int = REDRAW_PNG_COMPRESSION) -> bytes:
    """An 8-bit RGBA image of shape (height, width, 4) as a PNG (W3C PNG specification: signature,
    IHDR, one IDAT of zlib-compressed scanlines, IEND). Every scanline gets filter type 0 (none):
    a figure is mostly runs of flat colour, which zlib's matching already packs, so the file is
    about as small as with Pillow's adaptive filtering (which tries five filters on every row),
    and encoding takes well under half the time."""
    rgba = np.asarray(rgba)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"rgba must be a uint8 array of shape (height, width, 4), got {rgba.dtype} {rgba.shape}")
    height, width, _ = rgba.shape
    scanlines = np.zeros((height, 1 + 4 * width), np.uint8)  # a leading 0 byte per row: no filter
    scanlines[:, 1:] = rgba.reshape(height, 4 * width)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8 bits, RGBA, deflate, no interlace
    return (
        PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(scanlines.tobytes(), level))
        + _png_chunk(b"IEND", b"")
    )


def png_bundle(figure: Figure, memory: LayoutMemory) -> dict[str, str]:
    """The display data of a redrawn figure, as IPython shows a figure: the PNG of
    :func:`render_png` with the layout ``memory`` holds, and the figure's repr as text. A layout
    the engine had to compute is remembered for the next redraw."""
    png, reused = render_png(figure, memory.layout())
    if not reused:
        memory.remember(figure)
    return {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": repr(figure)}
