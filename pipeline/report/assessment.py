"""What the report concludes and recommends, as the template shows it: conclusions, recommendations, decisions."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Conclusion:
    """One conclusion: a lead sentence and, when it names several things, one point for each."""

    text: str
    points: tuple[str, ...] = ()

    @property
    def sentence(self) -> str:
        """The conclusion as one sentence: the lead and its points after a colon."""
        if not self.points:
            return self.text
        text = f"{self.text.rstrip(':')}: {'; '.join(self.points)}"
        return text if text.endswith(".") else text + "."


@dataclass(frozen=True)
class Recommendations:
    """The recommendations to one addressee, each «figure — what to do»."""

    to: str
    sentences: tuple[str, ...]


@dataclass(frozen=True)
class Decision:
    """One management decision: what, who is responsible, by when, and the figure it answers."""

    action: str
    responsible: str
    due: str
    because: str


@dataclass(frozen=True)
class Assessment:
    """What the report concludes and recommends, under the thresholds the district set."""

    thresholds: str  # the sentence naming the thresholds used
    conclusions: tuple[Conclusion, ...]
    recommendations: tuple[Recommendations, ...]
    decisions: tuple[Decision, ...]

    @property
    def sentences(self) -> list[str]:
        return [conclusion.sentence for conclusion in self.conclusions]
