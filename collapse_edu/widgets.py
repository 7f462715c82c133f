"""Interactive controls around pure plotting functions.

Every interactive figure in the course is a pure function in the package (parameters in, a
matplotlib ``Figure`` out). :func:`interact_figure` wraps it: it draws the figure once with the
function's defaults as an ordinary cell output, so nbval, nbconvert, GitHub and nbviewer show it,
and when a live kernel is attached it adds controls that redraw that same output in place
(through a display id). Slow functions get a Run button instead of live updates.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import display


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
        if value not in spec:
            value = spec[0]
        return widgets.Dropdown(options=spec, value=value, description=description, style=style)
    if spec is bool:
        return widgets.Checkbox(value=bool(value), description=description)
    if isinstance(spec, tuple) and len(spec) == 3:
        low, high, step = spec
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
    for name, (other, enabling) in (enabled_when or {}).items():
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

    def draw() -> plt.Figure:
        figure = make_figure(**{name: w.value for name, w in inputs.items()})
        plt.close(figure)  # shown through the display handle only, never twice
        return figure

    handle = display(draw(), display_id=True)

    def redraw(*_: Any) -> None:
        status.value = "<i>drawing…</i>"
        try:
            handle.update(draw())
            status.value = ""
        except (ValueError, TypeError) as error:  # bad combination of settings: say so, keep the old figure
            status.value = f"<span style='color:#D55E00'>{error}</span>"

    children: list[widgets.Widget] = list(inputs.values())
    if run_button:
        button = widgets.Button(description="Run", button_style="primary", icon="play")
        button.on_click(redraw)
        children.append(button)
    else:
        for w in inputs.values():
            w.observe(redraw, names="value")
    children.append(status)
    display(Controls(children))
