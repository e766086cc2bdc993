using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Profiler.Cli.Commands;
using Profiler.Export.Checks;

namespace Profiler.Tests.Checks;

/// <summary>`memprof open` end to end over real sockets: the printed link's profile is served to
/// the Firefox Profiler's origin at every fetch until Ctrl-C (or once, with --once); other
/// origins and paths are refused.</summary>
public sealed class OpenCommandTests
{
    /// <summary>Collects what the command prints, so the test can read the link while it serves.</summary>
    sealed class SharedWriter : StringWriter
    {
        public override void Write(char value) { lock (this) base.Write(value); }
        public override void Write(string? value) { lock (this) base.Write(value); }
        public override void WriteLine(string? value) { lock (this) base.WriteLine(value); }
        public string Text { get { lock (this) return ToString(); } }
    }

    static string GzippedProfile(DirectoryInfo dir)
    {
        string path = Path.Combine(dir.FullName, "app.json.gz");
        byte[] json = Encoding.UTF8.GetBytes("{\"meta\":{\"version\":1},\"threads\":[]}");
        using (var file = File.Create(path))
        using (var gz = new GZipStream(file, CompressionLevel.Fastest)) gz.Write(json);
        return path;
    }

    static Uri ProfileUrlOf(string link)
    {
        const string prefix = ProfileServer.FirefoxOrigin + "/from-url/";
        Assert.StartsWith(prefix, link);
        return new Uri(Uri.UnescapeDataString(link[prefix.Length..]));
    }

    [Fact]
    public async Task The_printed_link_serves_the_profile_at_every_fetch_until_cancelled_and_refuses_other_origins_and_paths()
    {
        var dir = Directory.CreateTempSubdirectory("memprof-open");
        string path = GzippedProfile(dir);
        var stdout = new SharedWriter();
        var stderr = new SharedWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serving = Task.Run(() => OpenCommand.Run(new OpenOptions(path, NoOpen: true, Port: 0), stdout, stderr, cancel.Token));
        var profileUrl = ProfileUrlOf(await WaitForLink(stdout, serving));
        Assert.Equal("127.0.0.1", profileUrl.Host);
        Assert.Matches("^/[0-9a-f]{32}/app.json.gz$", profileUrl.AbsolutePath);
        Assert.Contains("local network", stderr.Text);

        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None });
        Assert.Equal(HttpStatusCode.Forbidden, (await Get(http, profileUrl, "https://evil.example")).StatusCode);
        var wrongPath = new UriBuilder(profileUrl) { Path = "/app.json.gz" }.Uri;
        Assert.Equal(HttpStatusCode.NotFound, (await Get(http, wrongPath, ProfileServer.FirefoxOrigin)).StatusCode);

        // Chrome's Private Network Access preflight, before a public page may fetch from 127.0.0.1.
        var preflight = new HttpRequestMessage(HttpMethod.Options, profileUrl);
        preflight.Headers.Add("Origin", ProfileServer.FirefoxOrigin);
        preflight.Headers.Add("Access-Control-Request-Method", "GET");
        preflight.Headers.Add("Access-Control-Request-Private-Network", "true");
        using (var answer = await http.SendAsync(preflight))
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
            Assert.Equal("true", answer.Headers.GetValues("Access-Control-Allow-Private-Network").Single());
            Assert.Equal(ProfileServer.FirefoxOrigin, answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        // The first fetch, then a reload of the tab: both get the profile.
        for (int fetch = 0; fetch < 2; fetch++)
        {
            using var response = await Get(http, profileUrl, ProfileServer.FirefoxOrigin);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(ProfileServer.FirefoxOrigin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Equal(File.ReadAllBytes(path), await response.Content.ReadAsByteArrayAsync());
            Assert.Equal("gzip", response.Content.Headers.ContentEncoding.Single());
        }
        await Task.Delay(200);
        Assert.False(serving.IsCompleted, "memprof open stopped serving before Ctrl-C");

        cancel.Cancel(); // as Ctrl-C does
        Assert.Equal(0, await serving.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("stopped serving", stderr.Text);
        // The port is released: it can be listened on again.
        var again = new TcpListener(IPAddress.Loopback, profileUrl.Port);
        again.Start();
        again.Stop();
        dir.Delete(recursive: true);
    }

    [Fact]
    public async Task With_once_it_stops_after_the_first_fetch()
    {
        var dir = Directory.CreateTempSubdirectory("memprof-open-once");
        string path = GzippedProfile(dir);
        var stdout = new SharedWriter();
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var serving = Task.Run(() => OpenCommand.Run(new OpenOptions(path, NoOpen: true, Port: 0) { Once = true }, stdout, new SharedWriter(), cancel.Token));
        var profileUrl = ProfileUrlOf(await WaitForLink(stdout, serving));

        using var http = new HttpClient(new HttpClientHandler { AutomaticDecompression = DecompressionMethods.None });
        Assert.Equal(HttpStatusCode.Forbidden, (await Get(http, profileUrl, "https://evil.example")).StatusCode);
        Assert.False(serving.IsCompleted, "a refused request must not stop the server");
        using (var response = await Get(http, profileUrl, ProfileServer.FirefoxOrigin))
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Equal(0, await serving.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(cancel.IsCancellationRequested);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => Get(http, profileUrl, ProfileServer.FirefoxOrigin));
        dir.Delete(recursive: true);
    }

    static async Task<HttpResponseMessage> Get(HttpClient http, Uri url, string origin)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("Origin", origin);
        return await http.SendAsync(request);
    }

    static async Task<string> WaitForLink(SharedWriter stdout, Task<int> serving)
    {
        // Bounded by time, not by tries: on a loaded host starting the server can take seconds.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (serving.IsCompleted) Assert.Fail($"memprof open ended early with {await serving}");
            string? line = stdout.Text.Split('\n').FirstOrDefault(l => l.StartsWith("https://"));
            if (line is not null) return line.Trim();
            await Task.Delay(50);
        }
        throw new TimeoutException("memprof open printed no link");
    }
}
