"""The reporting currency (`settings.DEFAULT_CURRENCY`) and the exchange rates admins keep
(SPEC §9 Money): `ExchangeRate` rows, the services that write them, and the one converter every
total goes through (`selectors.Rates`, `selectors.converted_amount`)."""
