using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Profiler.Export.Checks;

/// <summary>
/// Serves one profile to the Firefox Profiler, as samply does: on 127.0.0.1 only, under a path
/// with 128 random bits (another local user or web page cannot guess it), answering cross-origin
/// requests only from the Firefox Profiler's origin. It answers every fetch until stopped, since
/// the profiler fetches the profile again whenever its tab is reloaded or the link opened anew.
/// </summary>
public sealed class ProfileServer : IDisposable
{
    public const string FirefoxOrigin = "https://profiler.firefox.com";
    const int MaxRequestHead = 16 * 1024;
    static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    readonly byte[] _profile;
    readonly bool _gzipped;
    readonly TcpListener _listener;
    readonly TaskCompletionSource _fetched = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="profile">The Firefox profile, JSON or gzipped JSON.</param>
    /// <param name="port">0 for a free port chosen by the system.</param>
    public ProfileServer(byte[] profile, string fileName, int port = 0)
    {
        _profile = profile;
        _gzipped = profile.Length >= 2 && profile[0] == 0x1f && profile[1] == 0x8b;
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        string token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        ProfilePath = $"/{token}/{Uri.EscapeDataString(fileName)}";
    }

    public int Port { get; }
    public string ProfilePath { get; }
    public string ProfileUrl => $"http://127.0.0.1:{Port}{ProfilePath}";
    public string FirefoxUrl => $"{FirefoxOrigin}/from-url/{Uri.EscapeDataString(ProfileUrl)}";

    /// <summary>
    /// Answers requests until <paramref name="cancel"/> (then returns normally: it is how serving
    /// ends), or with <paramref name="once"/> until the profile has been sent once. Stops listening
    /// before it returns, so the port is free again.
    /// </summary>
    public async Task ServeAsync(TextWriter log, bool once, CancellationToken cancel)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var accepting = AcceptLoop(log, stop.Token);
        try
        {
            var end = once ? _fetched.Task : Task.Delay(Timeout.Infinite, CancellationToken.None);
            await end.WaitAsync(cancel);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested) { }
        finally
        {
            stop.Cancel();
            _listener.Stop();
            try { await accepting; } catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException) { }
        }
    }

    async Task AcceptLoop(TextWriter log, CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(cancel);
            _ = Task.Run(() => Handle(client, log, cancel), cancel);
        }
    }

    async Task Handle(TcpClient client, TextWriter log, CancellationToken cancel)
    {
        using var _ = client;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        timeout.CancelAfter(RequestTimeout);
        try
        {
            var stream = client.GetStream();
            var request = await ReadHead(stream, timeout.Token);
            if (request is null) return;
            var (status, headers, body) = Respond(request);
            await Write(stream, status, headers, body, timeout.Token);
            lock (log) log.WriteLine($"memprof: {request.Method} {(status == 200 || status == 204 ? request.Path : "(refused)")} → {status}");
            if (status == 200 && request.Method == "GET") _fetched.TrySetResult();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or SocketException) { }
    }

    /// <param name="PrivateNetworkAccess">The browser asked, in a preflight, whether a public
    /// page may reach this private address (Chrome's Private Network Access).</param>
    public sealed record Request(string Method, string Path, string? Origin, bool PrivateNetworkAccess = false);

    /// <summary>The response to a request: the profile, a CORS preflight answer, or a refusal.</summary>
    public (int Status, Dictionary<string, string> Headers, byte[] Body) Respond(Request request)
    {
        var headers = new Dictionary<string, string> { ["Vary"] = "Origin", ["Cache-Control"] = "no-store" };
        // A page from any other origin is refused outright (not only denied the response by the
        // browser); requests without Origin come from tools such as curl.
        if (request.Origin is { } origin && origin != FirefoxOrigin) return (403, headers, Encoding.ASCII.GetBytes("origin not allowed\n"));
        if (request.Path != ProfilePath) return (404, headers, Encoding.ASCII.GetBytes("not found\n"));
        headers["Access-Control-Allow-Origin"] = FirefoxOrigin;
        if (request.Method == "OPTIONS")
        {
            headers["Access-Control-Allow-Methods"] = "GET";
            headers["Access-Control-Max-Age"] = "600";
            if (request.PrivateNetworkAccess) headers["Access-Control-Allow-Private-Network"] = "true";
            return (204, headers, []);
        }
        if (request.Method != "GET") return (405, headers, []);
        headers["Content-Type"] = "application/json";
        if (_gzipped) headers["Content-Encoding"] = "gzip";
        return (200, headers, _profile);
    }

    static async Task<Request?> ReadHead(NetworkStream stream, CancellationToken cancel)
    {
        var buffer = new byte[MaxRequestHead];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(length), cancel);
            if (n == 0) return null;
            length += n;
            string text = Encoding.ASCII.GetString(buffer, 0, length);
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0) return Parse(text[..end]);
        }
        return null;
    }

    static Request? Parse(string head)
    {
        var lines = head.Split("\r\n");
        var parts = lines[0].Split(' ');
        if (parts.Length != 3) return null;
        var fields = lines.Skip(1).Select(l => l.Split(':', 2)).Where(kv => kv.Length == 2).ToList();
        string? Field(string name) => fields.Where(kv => kv[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            .Select(kv => kv[1].Trim()).FirstOrDefault();
        string path = parts[1];
        int query = path.IndexOf('?');
        bool privateNetwork = string.Equals(Field("Access-Control-Request-Private-Network"), "true", StringComparison.OrdinalIgnoreCase);
        return new Request(parts[0], query >= 0 ? path[..query] : path, Field("Origin"), privateNetwork);
    }

    static async Task Write(NetworkStream stream, int status, Dictionary<string, string> headers, byte[] body, CancellationToken cancel)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {Reason(status)}\r\n");
        foreach (var (k, v) in headers) head.Append($"{k}: {v}\r\n");
        head.Append($"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), cancel);
        await stream.WriteAsync(body, cancel);
        await stream.FlushAsync(cancel);
    }

    static string Reason(int status) => status switch
    {
        200 => "OK", 204 => "No Content", 403 => "Forbidden", 404 => "Not Found", _ => "Method Not Allowed",
    };

    public void Dispose() => _listener.Stop();
}
