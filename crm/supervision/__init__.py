"""督办 and 交办: problems on signed projects made into items with an owner, a deadline and a
light, and leads handed between the bureau's divisions and the districts with a deadline per step."""
