from app.core.repository import ScopedRepository
from app.visits.replans_models import Replan


class ReplanRepository(ScopedRepository[Replan]):
    model, label = Replan, "re-plan"
