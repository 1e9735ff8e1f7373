"""Pages of the pipeline: the board (`board`), the deal page (`deal_page`) and the stage
settings (`stage_settings`). Every view is a thin caller: it parses input with a form, calls a
service and answers htmx the house way (`pipeline_crm.htmx`)."""
