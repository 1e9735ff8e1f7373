from django.apps import AppConfig


class CurrenciesConfig(AppConfig):
    name = "currencies"
    verbose_name = "Currencies and exchange rates"

    def ready(self) -> None:
        # Every change of a rate empties the cached rates in effect (selectors.py).
        from currencies import selectors

        selectors.connect_cache_reset()
