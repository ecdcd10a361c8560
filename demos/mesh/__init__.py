"""The cross-framework mesh: a LangGraph orchestrator, a CrewAI research worker and a LangGraph synthesis worker."""
