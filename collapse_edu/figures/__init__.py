"""Pure figure functions, one module per lesson topic: parameters in, a matplotlib Figure out.

The lessons call them directly or through :func:`collapse_edu.widgets.interact_figure`.
"""
