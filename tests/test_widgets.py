"""interact_figure: controls from specs, one drawing at start, redraws through the display handle."""

from __future__ import annotations

import re
from unittest import mock

import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest

from collapse_edu import widgets as course_widgets
from collapse_edu.widgets import Controls, control, interact_figure


def make_figure(n: int = 100, scale: float = 0.5, estimator: str = "MLE", log: bool = False) -> plt.Figure:
    """A pure figure function; its title records the parameters it was drawn with."""
    fig, ax = plt.subplots()
    if n < 0:
        raise ValueError("n must be >= 0")
    ax.set_title(f"n={n} scale={scale} estimator={estimator} log={log}")
    return fig


def title(fig: plt.Figure) -> str:
    return fig.axes[0].get_title()


@pytest.fixture
def shown(monkeypatch):
    """Replace IPython's display: record what is shown; a display_id call returns a mock handle."""
    calls: list[tuple[object, dict]] = []
    handle = mock.Mock(name="DisplayHandle")

    def fake_display(obj, **kwargs):
        calls.append((obj, kwargs))
        return handle if kwargs.get("display_id") else None

    monkeypatch.setattr(course_widgets, "display", fake_display)
    return calls, handle


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
    assert isinstance(calls[-1][0].children[-1], widgets.HTML)  # the status line
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
    (figure,), _ = handle.update.call_args
    assert title(figure) == "n=500 scale=0.5 estimator=MLE log=False"
    found["estimator"].value = "unbiased"
    assert handle.update.call_count == 2
    assert title(handle.update.call_args[0][0]) == "n=500 scale=0.5 estimator=unbiased log=False"
    assert len(calls) == 2  # nothing new was displayed: the same output was updated
    assert not plt.get_fignums()


def test_a_bad_setting_is_reported_and_the_old_figure_kept(shown):
    calls, handle = shown
    interact_figure(make_figure, n=(-10, 10, 1))
    found = controls_of(calls)
    status = calls[-1][0].children[-1]
    found["n"].value = -5
    handle.update.assert_not_called()
    assert "n must be &gt;= 0" in status.value or "n must be >= 0" in status.value
    found["n"].value = 5
    handle.update.assert_called_once()
    assert status.value == ""


def test_run_button_redraws_only_on_click(shown):
    calls, handle = shown
    interact_figure(make_figure, run_button=True, n=(10, 1000, 10))
    panel = calls[-1][0]
    button = next(w for w in panel.children if isinstance(w, widgets.Button))
    slider = next(w for w in panel.children if isinstance(w, widgets.IntSlider))
    slider.value = 300
    handle.update.assert_not_called()
    button.click()
    assert title(handle.update.call_args[0][0]) == "n=300 scale=0.5 estimator=MLE log=False"


def test_unknown_parameter_is_a_value_error(shown):
    with pytest.raises(ValueError, match="make_figure has no parameter 'bins'; it takes n, scale, estimator, log"):
        interact_figure(make_figure, bins=(1, 10, 1))
    assert shown[0] == []  # nothing drawn


def test_parameter_without_default_is_a_value_error(shown):
    def no_default(n, m=1):
        return plt.figure()

    with pytest.raises(ValueError, match="parameters n need a default value"):
        interact_figure(no_default, n=(1, 10, 1))


def test_controls_text_repr_tells_a_static_reader_what_to_do():
    panel = Controls([widgets.IntSlider(description="n"), widgets.Dropdown(options=["a"], description="estimator")])
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == "[controls: n, estimator; run this notebook in Jupyter to use them]"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_headless_without_mock_draws_once(capsys):
    """Outside a notebook (plain Python) interact_figure still works: IPython prints str() of each object."""
    interact_figure(make_figure, n=(10, 1000, 10))
    out = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"Figure\(\d+x\d+\)", out[0])
    assert out[1].startswith("Controls(children=(IntSlider(value=100")


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
