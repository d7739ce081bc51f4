"""The bottom layer: pieces every other package uses and that know no domain — time and money
formats, amounts, text checks, validation, choices, the acting user, one commit, pagination, forms,
error pages, Excel."""
