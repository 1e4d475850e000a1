"""Nowcasting: update a projection with figures published after its start (`etown assimilate`)."""
