"""A crew laid out the way `crewai create crew` writes one: YAML config, a @CrewBase class."""
