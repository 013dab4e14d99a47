"""Sample texts shared by tests."""

from __future__ import annotations

import random


def sample_markdown(sections: int = 12) -> str:
    rng = random.Random(5)
    words = "llama server token slot cache prompt sampling layout widget stream".split()

    def sentence(n: int) -> str:
        return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."

    out = []
    for k in range(sections):
        out.append(f"## Section {k}\n\n{sentence(30)} {sentence(20)}\n\n")
        out.append("".join(f"- {sentence(8)}\n" for _ in range(3)) + "\n")
        # A blank line inside a fence, followed by a letter: a naive cut would split the fence.
        out.append(f"```python\ndef f_{k}():\n\n    return {k}\n```\n\n")
        out.append("".join(f"{i}. {sentence(6)}\n" for i in range(1, 4)) + "\n")
        out.append(f"> {sentence(12)}\n\n{sentence(25)}\n\n")
    return "".join(out)


# Plain English prose of about 1,000 Gemma tokens (written for these tests; fixed so that tests on
# a real model do not change when some other file of the repository does).
PROSE = """\
Lighthouses and the people who kept them

For most of recorded history a ship that came near land at night was in more danger than one far
out at sea. Rocks, sandbanks and headlands could not be seen, and a coast that looked safe by day
hid reefs a mile from the shore. The first answer was fire. Sailors on the Mediterranean steered
by beacons lit on hilltops, and the great tower at Alexandria carried a fire at its top that was
said to be visible for many miles. Such lights were rare and costly, and for centuries most coasts
stayed dark.

The modern lighthouse grew out of the trade of the eighteenth century. As more ships carried more
goods, owners and insurers began to count the cost of wrecks, and harbour towns paid to build
towers on the worst rocks. Building on a rock that the sea covers at high tide is hard work. The
stones had to be cut on land, numbered, shipped out in calm weather and fitted together so that
each course locked into the one below. Some towers took years, because the builders could only
work for a few hours at low water on a handful of days each month.

A light is only useful if a sailor knows which light he is looking at. Early towers burned candles
or coal, and one looked much like another. Keepers later used oil lamps with polished reflectors,
and then glass lenses that gathered the light into a beam. A lens in rings, each ring bending the
light a little more than the one inside it, could send a beam twenty miles or more while using
far less oil. Turning the lens with clockwork made the beam sweep round, so that each tower could
flash in its own pattern: two quick flashes every ten seconds, one long flash every fifteen, and
so on. Charts listed the patterns, and a navigator who counted the seconds between flashes could
tell where he was.

Keeping a light was a job for patient people. The lamp had to be lit at sunset and kept burning
until dawn. Wicks were trimmed through the night, the lens was cleaned of soot every morning, and
the clockwork was wound every few hours. In fog the keepers sounded a horn or a bell for as long
as the fog lasted, sometimes for days. On rock stations the keepers lived in small round rooms
stacked one above the other, with the oil store at the bottom and the lamp at the top. Supplies
came by boat when the weather allowed, and in winter a crew could be cut off for weeks. Logbooks
from those stations record storms that broke windows sixty feet above the sea.

The work changed slowly. Paraffin replaced whale oil, and electric lamps replaced paraffin. Radio
beacons, and later satellite positioning, gave ships other ways to find their place, and one by
one the stations were made automatic. A light that once needed three keepers now runs on its own,
checked by a visiting engineer a few times a year. Many towers still stand and still flash their
old patterns, and some of the keepers' houses have become museums where visitors can climb the
stairs, look at the great lenses and read the logbooks that the keepers left behind.

Lighthouses also shaped the towns around them. A village with a light nearby often had a pilot
station too, where local sailors waited to guide larger ships through the channel. The keepers'
children went to the village school, their wives sold eggs and knitted goods at the market, and in
bad winters the whole village helped to carry coal and food down to the landing. When a ship was
lost despite the light, the keepers wrote down what they had seen, and their notes were read out
at the inquiry that followed. Those reports show careful, plain people who took pride in a light
that never failed, and who felt every wreck on their stretch of coast as a personal loss.

Some of the old stations are now looked after by volunteers. They paint the ironwork, mend the
windows and keep the stairs safe, and on open days they explain to visitors how the lamp was lit
and how the keepers passed the long nights. Children are usually most curious about the small
details: where the keepers slept, what they ate when the boat could not come, and how they talked
to the shore before there were radios. The answers are in the logbooks, written in pencil or ink
in a careful hand, with the weather, the ships that passed and the hours the fog horn sounded.
"""
