"""Judgements: what the measures say about an analyst's statements. `conditions` is the small
language claims and signposts are written in, `claims` checks a claims file against the store and
gives verdicts, `scenarios` lights or dims a scenario's signposts. It may import the measures and
everything before them (engines, store, knowledge), never an output (brief, web, cli).
"""
