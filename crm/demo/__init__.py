"""Demo data: the seed story as real records (crm/demo/story.py, reading story.toml), and
synthetic data at scale (crm/demo/synthetic.py). `flask demo`, bench/ and the tests load
them from here."""

from crm.demo.story import STORY_DAY, load_story, story_loaded
from crm.demo.synthetic import add_synthetic, synthetic_partner_rows

__all__ = ["STORY_DAY", "add_synthetic", "load_story", "story_loaded", "synthetic_partner_rows"]
