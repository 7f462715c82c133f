"""interact_figure: controls from specs, one drawing at start, redraws through the display handle;
the redraw path (one draw reusing the first figure's layout, fast PNG) without a browser."""

from __future__ import annotations

import base64
import io
import re
from unittest import mock

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pytest
from IPython.core.pylabtools import print_figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from collapse_edu import widgets as course_widgets
from collapse_edu.plots import finish, new_figure
from collapse_edu.widgets import (
    Controls,
    FigureLayout,
    LayoutMemory,
    control,
    interact_figure,
    labels_collide,
    png_bundle,
    render_png,
)


def make_figure(n: int = 100, scale: float = 0.5, estimator: str = "MLE", log: bool = False) -> plt.Figure:
    """A pure figure function; its title records the parameters it was drawn with."""
    fig, ax = plt.subplots(figsize=(6.4, 4.8), dpi=100)  # fixed: the house style may be active
    if n < 0:
        raise ValueError("n must be >= 0")
    ax.set_title(f"n={n} scale={scale} estimator={estimator} log={log}")
    return fig


def title(fig: plt.Figure) -> str:
    return fig.axes[0].get_title()


@pytest.fixture
def shown(monkeypatch):
    """Replace IPython's display: record what is shown; a display_id call returns a mock handle.

    ``handle.rendered`` lists the figures that redraws rendered for the handle, in order."""
    calls: list[tuple[object, dict]] = []
    handle = mock.Mock(name="DisplayHandle")
    handle.rendered = []

    def fake_display(obj, **kwargs):
        calls.append((obj, kwargs))
        return handle if kwargs.get("display_id") else None

    def spy_bundle(figure, memory):
        handle.rendered.append(figure)
        return png_bundle(figure, memory)

    monkeypatch.setattr(course_widgets, "display", fake_display)
    monkeypatch.setattr(course_widgets, "png_bundle", spy_bundle)
    return calls, handle


def decode_png(bundle: dict) -> np.ndarray:
    """The RGBA pixels of the PNG in a display bundle."""
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))))


def controls_of(calls) -> dict[str, widgets.Widget]:
    panel = calls[-1][0]
    assert isinstance(panel, Controls)
    return {getattr(w, "description", ""): w for w in panel.children}


def test_draws_defaults_once_then_shows_controls(shown):
    calls, handle = shown
    interact_figure(make_figure, n=(10, 1000, 10), estimator=["MLE", "unbiased"])
    assert len(calls) == 2
    figure, kwargs = calls[0]
    assert isinstance(figure, plt.Figure) and kwargs == {"display_id": True}
    assert title(figure) == "n=100 scale=0.5 estimator=MLE log=False"
    assert not plt.get_fignums(), "the figure must be shown through the handle only, not again by pyplot"
    handle.update.assert_not_called()


def test_controls_are_built_from_specs(shown):
    calls, _ = shown
    custom = widgets.IntText(value=5, description="custom")
    interact_figure(make_figure, n=(10, 1000, 10), scale=(0.0, 1.0, 0.1), estimator=["MLE", "unbiased"], log=bool)
    found = controls_of(calls)
    assert isinstance(found["n"], widgets.IntSlider)
    assert (found["n"].min, found["n"].max, found["n"].step, found["n"].value) == (10, 1000, 10, 100)
    assert found["n"].continuous_update is False
    assert isinstance(found["scale"], widgets.FloatSlider) and found["scale"].value == 0.5
    assert isinstance(found["estimator"], widgets.Dropdown)
    assert list(found["estimator"].options) == ["MLE", "unbiased"] and found["estimator"].value == "MLE"
    assert isinstance(found["log"], widgets.Checkbox) and found["log"].value is False
    assert isinstance(calls[-1][0].children[-2], widgets.HTML)  # the status line
    assert isinstance(calls[-1][0].children[-1], widgets.Output)  # where a redraw's progress bars show
    assert control(3, custom, "x", False) is custom


def test_control_details():
    assert isinstance(control(1, (0, 10, 1), "my_param", True), widgets.IntSlider)
    slider = control(1, (0, 10, 1), "my_param", True)
    assert slider.description == "my param" and slider.continuous_update is True
    assert isinstance(control(1.0, (0, 10, 0.5), "x", False), widgets.FloatSlider)
    assert control("c", ["a", "b"], "x", False).value == "a"  # default not among the options
    with pytest.raises(TypeError, match="control for 'x' must be a \\(min, max, step\\) tuple"):
        control(1, (0, 10), "x", False)
    with pytest.raises(TypeError, match="control for 'x'"):
        control(1, "slider", "x", False)


def test_moving_a_control_redraws_in_place(shown):
    calls, handle = shown
    interact_figure(make_figure, n=(10, 1000, 10), estimator=["MLE", "unbiased"])
    found = controls_of(calls)
    found["n"].value = 500
    handle.update.assert_called_once()
    (bundle,), kwargs = handle.update.call_args
    assert kwargs == {"raw": True}
    assert title(handle.rendered[-1]) == "n=500 scale=0.5 estimator=MLE log=False"
    # what IPython shows for a figure: the PNG at the figure's own size and dpi, and its repr
    assert bundle["text/plain"] == "<Figure size 640x480 with 1 Axes>"
    assert decode_png(bundle).shape == (480, 640, 4)
    found["estimator"].value = "unbiased"
    assert handle.update.call_count == 2
    assert title(handle.rendered[-1]) == "n=500 scale=0.5 estimator=unbiased log=False"
    assert len(calls) == 2  # nothing new was displayed: the same output was updated
    assert not plt.get_fignums()


def test_a_bad_setting_is_reported_and_the_old_figure_kept(shown):
    calls, handle = shown
    interact_figure(make_figure, n=(-10, 10, 1))
    found = controls_of(calls)
    status = calls[-1][0].children[-2]
    found["n"].value = -5
    handle.update.assert_not_called()
    assert "n must be &gt;= 0" in status.value or "n must be >= 0" in status.value
    found["n"].value = 5
    handle.update.assert_called_once()
    assert status.value == ""


@pytest.mark.parametrize("in_a_kernel", [False, True], ids=["plain Python", "kernel"])
def test_a_redraw_runs_inside_the_progress_area_which_is_emptied_after(shown, monkeypatch, in_a_kernel):
    """A callback's own output would go to JupyterLab's log, out of sight: the redraw runs inside the panel's
    Output area, so the progress bars of a long simulation show under the controls, and it is emptied when the
    figure is drawn or the setting refused. In a kernel the Output area shows an unexpected error's traceback and
    swallows the exception: the traceback stays, and the status line points to it."""
    events = []

    class Area(widgets.Output):
        def __enter__(self):
            events.append("enter")
            return super().__enter__()

        def __exit__(self, kind, value, traceback):
            events.append("exit")
            super().__exit__(kind, value, traceback)
            return in_a_kernel and kind is not None  # what ipywidgets does when IPython is running

        def clear_output(self, *args, **kwargs):
            events.append("clear")

    monkeypatch.setattr(course_widgets.widgets, "Output", Area)
    calls, handle = shown

    def figure_noting_the_area(n=100):
        events.append("draw")
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 999:
            raise RuntimeError("a bug")
        return make_figure(n=n)

    interact_figure(figure_noting_the_area, n=(-10, 1000, 1))
    assert events == ["draw"]  # the first drawing is the cell's own output
    found = controls_of(calls)
    status = calls[-1][0].children[-2]
    found["n"].value = 500
    assert events == ["draw", "enter", "draw", "exit", "clear"] and status.value == ""
    assert handle.update.call_count == 1
    found["n"].value = -10
    assert events[-4:] == ["enter", "draw", "exit", "clear"] and "n must be" in status.value
    assert handle.update.call_count == 1  # the old figure kept
    if in_a_kernel:
        found["n"].value = 999
        assert events[-3:] == ["enter", "draw", "exit"]  # the traceback is not cleared away
        assert "the error is below" in status.value and handle.update.call_count == 1
    else:
        with pytest.raises(RuntimeError, match="a bug"):
            found["n"].value = 999
    assert isinstance(calls[-1][0].children[-1], Area)


def test_run_button_redraws_only_on_click(shown):
    calls, handle = shown
    interact_figure(make_figure, run_button=True, n=(10, 1000, 10))
    panel = calls[-1][0]
    button = next(w for w in panel.children if isinstance(w, widgets.Button))
    slider = next(w for w in panel.children if isinstance(w, widgets.IntSlider))
    slider.value = 300
    handle.update.assert_not_called()
    button.click()
    handle.update.assert_called_once()
    assert title(handle.rendered[-1]) == "n=300 scale=0.5 estimator=MLE log=False"


def test_unknown_parameter_is_a_value_error(shown):
    with pytest.raises(ValueError, match="make_figure has no parameter 'bins'; it takes n, scale, estimator, log"):
        interact_figure(make_figure, bins=(1, 10, 1))
    assert shown[0] == []  # nothing drawn


def test_parameter_without_default_is_a_value_error(shown):
    def no_default(n, m=1):
        return plt.figure()

    with pytest.raises(ValueError, match="parameters n need a default value"):
        interact_figure(no_default, n=(1, 10, 1))


def test_bad_control_specs_and_figures_are_named(shown):
    with pytest.raises(ValueError, match="control for 'estimator': the list of options is empty"):
        interact_figure(make_figure, estimator=[])
    with pytest.raises(ValueError, match=r"control for 'n': \(min, max, step\) needs min < max and step > 0"):
        interact_figure(make_figure, n=(10, 1, 1))
    with pytest.raises(ValueError, match="needs min < max and step > 0"):
        interact_figure(make_figure, n=(1, 10, 0))
    with pytest.raises(TypeError, match=r"control for 'n': \(min, max, step\) must be numbers"):
        interact_figure(make_figure, n=("a", "b", "c"))
    with pytest.raises(TypeError, match=r"enabled_when\['scale'\] must be a pair"):
        interact_figure(make_figure, n=(1, 10, 1), scale=(0.1, 2.0, 0.1), enabled_when={"scale": "n"})

    def nothing(n=1):
        plt.figure()

    with pytest.raises(TypeError, match="make_figure must return a matplotlib Figure, got NoneType"):
        interact_figure(nothing, n=(1, 10, 1))
    assert shown[0] == []  # nothing drawn


def test_controls_text_repr_tells_a_static_reader_what_to_do():
    panel = Controls([widgets.IntSlider(description="n"), widgets.Dropdown(options=["a"], description="estimator")])
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == "[controls: n, estimator; run this notebook in Jupyter to use them]"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_headless_without_mock_draws_once(capsys):
    """Outside a notebook (plain Python) interact_figure still works: IPython prints str() of each object."""
    open_before = plt.get_fignums()
    interact_figure(make_figure, n=(10, 1000, 10))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2  # the figure once, then the controls: nothing else
    assert re.fullmatch(r"Figure\(\d+x\d+\)", out[0])
    assert out[1].startswith("Controls(children=(IntSlider(value=100")
    assert plt.get_fignums() == open_before  # closed, so an inline backend cannot show it a second time


def test_enabled_when_greys_out_a_control_until_it_matters(shown):
    calls, handle = shown
    interact_figure(
        make_figure,
        estimator=["MLE", "unbiased"],
        scale=(0.0, 1.0, 0.1),
        enabled_when={"scale": ("estimator", "unbiased")},
    )
    found = controls_of(calls)
    assert found["scale"].disabled is True  # the default estimator does not use it
    found["estimator"].value = "unbiased"
    assert found["scale"].disabled is False
    found["estimator"].value = "MLE"
    assert found["scale"].disabled is True
    with pytest.raises(ValueError, match="enabled_when names controls 'scale' and 'bins'"):
        interact_figure(make_figure, scale=(0.0, 1.0, 0.1), enabled_when={"scale": ("bins", 3)})


# --------------------------------------------------------------------------- the redraw path


def two_panels(top: float = 1.0, panels: int = 2, ylabel: str = "value") -> plt.Figure:
    """Two constrained panels side by side; ``top`` sets the y range (and so the tick labels' width)."""
    fig, axes = new_figure(panels, width=8, height=3.5)
    x = np.linspace(0, 1, 50)
    for i, ax in enumerate(axes):
        ax.plot(x, top * x**2, label="curve")
        ax.yaxis.set_major_formatter("{x:,.1f}")  # plain numbers: 1,000,000.0 is wide
        finish(ax, title=f"panel {i} (top = {top:g})", xlabel="x", ylabel=ylabel)
    return fig


def positions(fig: plt.Figure) -> list[tuple[float, ...]]:
    return [tuple(np.round(ax.get_position(original=True).bounds, 6)) for ax in fig.axes]


def laid_out(fig: plt.Figure) -> plt.Figure:
    fig.draw_without_rendering()
    return fig


def test_the_first_layout_is_recorded_when_the_inline_backend_draws_the_first_figure(monkeypatch):
    first = two_panels()
    plt.close(first)
    memory = LayoutMemory(first)
    print_figure(first, "png", bbox_inches="tight")  # what IPython's inline backend does to show it
    monkeypatch.setattr(first, "draw_without_rendering", mock.Mock(side_effect=AssertionError("drawn again")))
    layout = memory.layout()
    assert [tuple(np.round(b.bounds, 6)) for b in layout.axes] == positions(first)
    assert layout.make_up[0] == (8.0, 3.5)  # the figure's size, not that of its tight crop
    assert layout.apply(two_panels(top=2.0))
    default = positions(two_panels())  # the grid before any layout: the engine moved the axes
    assert positions(first) != default


def test_the_first_layout_is_computed_once_when_nothing_drew_the_first_figure():
    first = two_panels()
    layout = LayoutMemory(first).layout()
    assert [tuple(np.round(b.bounds, 6)) for b in layout.axes] == positions(laid_out(two_panels()))


def test_reusing_the_layout_draws_the_picture_the_layout_engine_draws():
    """Same make-up, same text: one draw with the recorded positions gives the same pixels as
    matplotlib's own savefig with constrained layout (no tight crop) at the figure's dpi."""
    layout = FigureLayout.of(laid_out(two_panels(top=3.0)))
    fig = two_panels(top=3.0)
    png, reused = render_png(fig, layout)
    assert reused and type(fig.get_layout_engine()).__name__ == "PlaceHolderLayoutEngine"  # the engine was off
    fast = np.asarray(Image.open(io.BytesIO(png)))
    buffer, same = io.BytesIO(), two_panels(top=3.0)
    with plt.rc_context({"savefig.bbox": "standard"}):  # the house style crops to the tight box
        same.savefig(buffer, format="png", dpi=fig.dpi)
    slow = np.asarray(Image.open(buffer))
    assert fast.shape == slow.shape == (350, 800, 4)
    assert np.array_equal(fast, slow)


def test_a_redraw_with_new_values_keeps_the_layout_when_labels_fit():
    layout = FigureLayout.of(laid_out(two_panels(top=1.0)))
    fig = two_panels(top=2.0)  # same tick label width: fits
    assert render_png(fig, layout)[1]
    assert positions(fig) == [tuple(np.round(b.bounds, 6)) for b in layout.axes]
    assert all(ax.get_in_layout() for ax in fig.axes)


def test_labels_that_would_collide_get_the_layout_engine():
    """y tick labels of 1,000,000.0 instead of 1.0 push the y label into the left panel and off
    the figure: the redraw falls back to the layout engine, which makes room."""
    layout = FigureLayout.of(laid_out(two_panels(top=1.0)))
    reused = two_panels(top=1e6)
    layout.apply(reused)
    reused.draw_without_rendering()
    assert labels_collide(reused, reused.canvas.get_renderer())

    fig = two_panels(top=1e6)
    assert not render_png(fig, layout)[1]
    assert positions(fig) != [tuple(np.round(b.bounds, 6)) for b in layout.axes]
    assert not labels_collide(fig, fig.canvas.get_renderer())


def test_labels_collide_is_false_for_a_laid_out_figure_and_sees_a_label_off_the_figure():
    fig = laid_out(two_panels())
    assert not labels_collide(fig, fig.canvas.get_renderer())
    fig.axes[0].set_position([0.0, 0.2, 0.4, 0.7])  # its y label is now left of the figure
    fig.set_layout_engine("none")
    fig.draw_without_rendering()
    assert labels_collide(fig, fig.canvas.get_renderer())


def test_a_figure_of_another_make_up_is_laid_out_by_its_engine():
    layout = FigureLayout.of(laid_out(two_panels(panels=2)))
    fig = two_panels(panels=3)
    assert not layout.apply(fig)
    assert not render_png(fig, layout)[1]
    assert positions(fig) == positions(laid_out(two_panels(panels=3)))


def test_a_figure_without_layout_engine_is_drawn_as_placed():
    layout = FigureLayout.of(laid_out(two_panels(panels=1)))
    fig = plt.figure(figsize=(8, 3.5))
    fig.add_subplot().set_position([0.3, 0.3, 0.4, 0.4])  # placed by hand: same make-up, no engine
    png, reused = render_png(fig, layout)
    assert not reused
    assert positions(fig) == [(0.3, 0.3, 0.4, 0.4)]
    assert np.asarray(Image.open(io.BytesIO(png))).shape == (350, 800, 4)


def test_widget_redraws_reuse_the_first_figure_layout(shown):
    calls, handle = shown
    interact_figure(two_panels, top=(1.0, 5.0, 1.0))
    first = calls[0][0]
    found = controls_of(calls)
    found["top"].value = 3.0
    (bundle,), _ = handle.update.call_args
    redrawn = handle.rendered[-1]
    assert positions(redrawn) == positions(laid_out(first))
    assert decode_png(bundle).shape == (350, 800, 4)
    assert redrawn.axes[0].get_title() == "panel 0 (top = 3)"


def test_a_layout_the_engine_had_to_compute_is_reused_next_time():
    first = laid_out(two_panels(top=1.0))
    memory = LayoutMemory(first)
    wide = two_panels(top=1e6)
    png_bundle(wide, memory)  # collides with the first layout: laid out by the engine, remembered
    assert [tuple(np.round(b.bounds, 6)) for b in memory.layout().axes] == positions(wide)
    again = two_panels(top=2e6)
    png_bundle(again, memory)
    assert positions(again) == positions(wide)
    assert type(again.get_layout_engine()).__name__ == "PlaceHolderLayoutEngine"  # no second layout


def test_encode_png_decodes_to_the_same_pixels():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)
    rgba[2:5] = (255, 255, 255, 255)  # a flat run, as figures have
    png = course_widgets.encode_png(rgba)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), rgba)
    with pytest.raises(ValueError, match="rgba must be a uint8 array of shape"):
        course_widgets.encode_png(rgba[..., :3])


def test_a_shared_renderer_draws_each_figure_as_a_fresh_canvas_does():
    """The renderer kept between redraws (for its text caches) leaves nothing of the previous
    figure behind: the same pixels as matplotlib's own canvas."""
    first, second = two_panels(top=1e6), two_panels(top=3.0)
    course_widgets.render_png(first)
    png, _ = course_widgets.render_png(second)
    renderer = second.canvas.get_renderer()
    assert renderer is first.canvas.get_renderer()  # same size and dpi: one renderer
    fresh = two_panels(top=3.0)
    FigureCanvasAgg(fresh).draw()
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(png))), np.asarray(fresh.canvas.buffer_rgba()))


def test_the_ngram_explorer_keeps_its_first_layout_when_the_generations_change():
    """Lesson 03's explorer: from the default figure (20 generations), every number of generations
    the slider offers redraws into the same layout (no second layout pass) with no label colliding."""
    from collapse_edu.figures import text as text_figures

    settings = dict(runs=2, eval_sentences=50, seed=3)
    first = text_figures.ngram_collapse(**settings)
    first.draw_without_rendering()
    layout = FigureLayout.of(first)
    for generations in (5, 10, 35, 60):
        fig = text_figures.ngram_collapse(generations=generations, **settings)
        assert render_png(fig, layout)[1], generations
        assert not labels_collide(fig, fig.canvas.get_renderer())
        plt.close(fig)
