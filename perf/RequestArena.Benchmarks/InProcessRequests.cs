using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.Benchmarks;

/// <summary>
/// Requests one at a time through a built pipeline, without a socket, doing around each what the server does around
/// the application: a new request-services feature (the request's DI scope, created on first use), the
/// <see cref="IHttpContextAccessor"/> pointed at the context, a fresh endpoint selection, and after the pipeline the
/// OnCompleted callbacks in reverse order of registration, which release the arena and dispose the scope. One
/// DefaultHttpContext is reused, as Kestrel reuses its contexts, so only the application's work is measured.
/// </summary>
internal sealed class InProcessRequests
{
    private readonly DefaultHttpContext _context;
    private readonly CompletingResponseFeature _response;
    private readonly IServiceScopeFactory _scopes;
    private readonly IHttpContextAccessor? _accessor;
    private readonly RequestDelegate _app;
    private readonly Endpoint? _endpoint;

    /// <param name="services">The application's services.</param>
    /// <param name="app">The built pipeline.</param>
    /// <param name="path">The request path, for a pipeline that routes.</param>
    /// <param name="endpoint">
    /// The endpoint to select before the pipeline runs, for a pipeline without routing; null lets routing choose.
    /// </param>
    public InProcessRequests(IServiceProvider services, RequestDelegate app, string path, Endpoint? endpoint)
    {
        _app = app;
        _endpoint = endpoint;
        _scopes = services.GetRequiredService<IServiceScopeFactory>();
        _accessor = services.GetService<IHttpContextAccessor>();
        _response = new CompletingResponseFeature();
        _context = new DefaultHttpContext();
        _context.Features.Set<IHttpResponseFeature>(_response);
        _context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        _context.Request.Method = HttpMethods.Get;
        _context.Request.Path = path;
    }

    public HttpContext Context => _context;

    public Task RunAsync()
    {
        _context.Features.Set<IServiceProvidersFeature>(new RequestServicesFeature(_context, _scopes));
        _context.SetEndpoint(_endpoint);
        _context.Response.StatusCode = StatusCodes.Status200OK;
        if (_accessor is not null)
        {
            _accessor.HttpContext = _context;
        }

        Task task = _app(_context);
        return task.IsCompletedSuccessfully ? CompleteAsync() : AwaitThenCompleteAsync(task);
    }

    private Task CompleteAsync()
    {
        Task completed = _response.CompleteAsync();
        if (_accessor is not null)
        {
            _accessor.HttpContext = null;
        }

        return completed;
    }

    private async Task AwaitThenCompleteAsync(Task request)
    {
        await request;
        await CompleteAsync();
    }
}
