"""A web worker loads the URL configuration and compiles every template before its first
request (pipeline_crm.warmup, called from gunicorn.conf.py's post_worker_init)."""

from django.template import engines

from pipeline_crm.warmup import template_names, warm_up


def cached_loader():
    return engines["django"].engine.template_loaders[0]


def test_warm_up_compiles_every_template_of_the_project():
    loader = cached_loader()
    loader.reset()
    assert "deals/board.html" not in loader.get_template_cache
    compiled = warm_up()
    names = set(template_names())
    assert compiled == len(names) > 50
    assert {"deals/board.html", "forecasting/panels.html", "base.html"} <= names
    assert names <= set(loader.get_template_cache)
