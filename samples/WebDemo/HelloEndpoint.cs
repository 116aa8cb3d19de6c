namespace WebDemo;

/// <summary>
/// A fixed small response that never touches the arena: served at <c>/api/hello</c> (through the arena middleware)
/// and <c>/bare/hello</c> (not), so the load test can price the middleware alone.
/// </summary>
internal static class HelloEndpoint
{
    private static readonly byte[] s_body = "hello from WebDemo\n"u8.ToArray();

    public static Task HandleAsync(HttpContext context)
    {
        context.Response.ContentType = "text/plain";
        context.Response.ContentLength = s_body.Length;
        return context.Response.BodyWriter.WriteAsync(s_body).AsTask();
    }
}
