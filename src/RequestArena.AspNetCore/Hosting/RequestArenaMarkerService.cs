namespace RequestArena.AspNetCore;

// Registered by AddRequestArena so UseRequestArena can tell at start-up that the services are missing.
internal sealed class RequestArenaMarkerService
{
}
