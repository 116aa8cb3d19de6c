namespace RequestArena.LoadTest;

/// <summary>The application under test refused a scenario's check request (a 404 when it lacks the endpoint).</summary>
internal sealed class ScenarioUnavailableException(string message) : Exception(message);
