"""Projects: what came out of agreements, with milestones and outcome indicators."""
