"""Places: Chongqing's districts and the zones the plan treats as districts — the reference data
that users, the map and every district-owned record point to."""
