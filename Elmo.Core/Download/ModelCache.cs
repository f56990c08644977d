using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Elmo.Core;

/// <summary>
/// A download cache for model files given by URL (the published AllenNLP models, or any http(s) URL).
/// Each URL is downloaded once into <c>DIRECTORY/&lt;hash of the URL&gt;/&lt;file name&gt;</c>:
/// <list type="bullet">
/// <item>into <c>FILE.partial</c> first, resumed with an HTTP <c>Range</c> request after an interruption (in
/// the same call, and on the next call after a failure or Ctrl-C), restarted from byte 0 when the server
/// ignores the range;</item>
/// <item>verified: the size against <c>Content-Length</c> / <c>Content-Range</c>, and the SHA-256 against the
/// expected value when one is known (<c>URL#sha256=HEX</c>);</item>
/// <item>the SHA-256 recorded in a sidecar <c>FILE.sha256</c> (the <c>sha256sum</c> format), then the
/// partial file renamed to <c>FILE</c>: a file under its final name is always complete.</item>
/// </list>
/// A concurrent download of the same URL by another process is refused rather than interleaved.
/// </summary>
public sealed class ModelCache
{
    /// <summary>The environment variable that overrides <see cref="DefaultDirectory"/>.</summary>
    public const string EnvironmentVariable = "ELMO_CACHE";

    private static readonly HttpClient SharedClient = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(30),
        AutomaticDecompression = DecompressionMethods.None,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly HttpClient _client;

    /// <summary>Creates a cache over <paramref name="directory"/> (created when needed).</summary>
    /// <param name="directory">The cache directory; null for <see cref="DefaultDirectory"/>.</param>
    /// <param name="client">The HTTP client; null for a shared one without an overall timeout (stalls are caught by <see cref="StallTimeout"/>).</param>
    public ModelCache(string? directory = null, HttpClient? client = null)
    {
        Directory = Path.GetFullPath(string.IsNullOrEmpty(directory) ? DefaultDirectory : directory);
        _client = client ?? SharedClient;
    }

    /// <summary>
    /// <c>$ELMO_CACHE</c> when set, else <c>$XDG_CACHE_HOME/elmo</c>, else <c>~/.cache/elmo</c>
    /// (on Windows <c>%LOCALAPPDATA%\elmo</c>).
    /// </summary>
    public static string DefaultDirectory
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable(EnvironmentVariable);
            if (!string.IsNullOrEmpty(env)) return env;
            if (OperatingSystem.IsWindows())
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "elmo");
            }
            string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (!string.IsNullOrEmpty(xdg)) return Path.Combine(xdg, "elmo");
            return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "elmo");
        }
    }

    /// <summary>The cache directory (absolute).</summary>
    public string Directory { get; }

    /// <summary>Attempts per download (the first plus resumptions after an interruption). Default 4.</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>A connection that delivers no byte for this long counts as interrupted. Default 60 s.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Pause before the n-th resumption: n times this. Default 1 s.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Whether <paramref name="text"/> is an absolute http or https URL.</summary>
    /// <param name="text">A command-line value.</param>
    /// <returns>True for a URL, false for a local path.</returns>
    public static bool IsUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>Splits <c>URL#sha256=HEX</c> into the URL to fetch and the expected SHA-256 (lower-case hex).</summary>
    /// <param name="text">An http(s) URL, optionally with a <c>#sha256=</c> fragment.</param>
    /// <returns>The URL without fragment and the expected hash, or null when none is given.</returns>
    /// <exception cref="ArgumentException">Not an http(s) URL, or the fragment is not 64 hex digits.</exception>
    public static (Uri Url, string? Sha256) ParseUrl(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!IsUrl(text)) throw new ArgumentException($"'{text}' is not an http(s) URL.", nameof(text));
        var uri = new Uri(text);
        string? sha = null;
        if (uri.Fragment.Length > 1)
        {
            string fragment = uri.Fragment[1..];
            if (!fragment.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase) || !IsSha256(fragment[7..]))
            {
                throw new ArgumentException($"URL fragment '#{fragment}' of '{text}': expected #sha256= followed by 64 hex digits.", nameof(text));
            }
            sha = fragment[7..].ToLowerInvariant();
        }
        return (new UriBuilder(uri) { Fragment = "" }.Uri, sha);
    }

    /// <summary>The cache path of <paramref name="url"/> (whether or not it has been downloaded).</summary>
    /// <param name="url">The URL (its fragment is ignored).</param>
    /// <returns><c>DIRECTORY/&lt;16 hex digits of SHA-256(url)&gt;/&lt;file name&gt;</c>.</returns>
    public string PathFor(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        string key = url.GetComponents(UriComponents.HttpRequestUrl, UriFormat.UriEscaped);
        string hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..16];
        string name = Uri.UnescapeDataString(url.Segments.Length > 0 ? url.Segments[^1] : "").Trim('/');
        var clean = new StringBuilder();
        foreach (char c in name) clean.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        string file = clean.Length == 0 || clean.ToString().Trim('.').Length == 0 ? "download" : clean.ToString();
        return Path.Combine(Directory, hash, file);
    }

    /// <summary>The cached file of <paramref name="url"/> when it is complete, else null. Makes no request.</summary>
    /// <param name="url">The URL.</param>
    /// <returns>The path, or null.</returns>
    public string? TryGetCached(Uri url)
    {
        string path = PathFor(url);
        return File.Exists(path) ? path : null;
    }

    /// <summary>The SHA-256 recorded for a cached file (its <c>.sha256</c> sidecar), or null when none is recorded.</summary>
    /// <param name="path">A file in the cache.</param>
    /// <returns>Lower-case hex, or null.</returns>
    public static string? RecordedSha256(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string sidecar = path + ".sha256";
        if (!File.Exists(sidecar)) return null;
        string first = File.ReadLines(sidecar).FirstOrDefault() ?? "";
        string hex = first.Split(' ', 2)[0].Trim();
        return IsSha256(hex) ? hex.ToLowerInvariant() : null;
    }

    /// <summary>The SHA-256 of a file, lower-case hex.</summary>
    /// <param name="path">The file.</param>
    /// <returns>64 hex digits.</returns>
    public static string ComputeSha256(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Returns the cached file of <paramref name="url"/>, downloading it first when needed.</summary>
    /// <param name="url">An http(s) URL.</param>
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known: a download that does not match is deleted and refused,
    /// and a cached file recorded with another hash is downloaded again.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept and the next call resumes it.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">HTTP error, repeated interruptions, size or checksum mismatch, or an unwritable cache.</exception>
    public string Fetch(Uri url, string? expectedSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FetchAsync(url, expectedSha256, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Asynchronous <see cref="Fetch"/>.</summary>
    /// <param name="url">An http(s) URL.</param>
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">HTTP error, repeated interruptions, size or checksum mismatch, or an unwritable cache.</exception>
    public async Task<string> FetchAsync(Uri url, string? expectedSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"'{url}' is not an http(s) URL.", nameof(url));
        }
        if (expectedSha256 is not null && !IsSha256(expectedSha256))
        {
            throw new ArgumentException($"'{expectedSha256}' is not a SHA-256 (64 hex digits).", nameof(expectedSha256));
        }
        string? expected = expectedSha256?.ToLowerInvariant();
        string final = PathFor(url);
        try
        {
            if (File.Exists(final))
            {
                string recorded = RecordedSha256(final) ?? Record(final, ComputeSha256(final));
                if (expected is null || recorded == expected) return final;
                // The cache holds another file under this URL (it changed, or the pin is new): fetch it again.
                File.Delete(final);
                File.Delete(final + ".sha256");
            }
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(final)!);
            return await DownloadAsync(url, final, expected, progress, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoDownloadException($"Cannot download '{url}' into the cache '{Directory}': {e.Message}", e) { Url = url, FilePath = final };
        }
    }

    private async Task<string> DownloadAsync(Uri url, string final, string? expected, Action<DownloadProgress>? progress, CancellationToken ct)
    {
        string partialPath = final + ".partial";
        FileStream partial;
        try
        {
            partial = new FileStream(partialPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16);
        }
        catch (IOException e) when (File.Exists(partialPath))
        {
            throw new ElmoDownloadException($"'{partialPath}' is locked: another process is downloading '{url}'. Wait for it, or remove the file if no download is running.", e) { Url = url, FilePath = partialPath };
        }

        var watch = Stopwatch.StartNew();
        long? total = null;
        using (partial)
        {
            for (int attempt = 1; ; attempt++)
            {
                long have = partial.Length;
                try
                {
                    await ReceiveAsync(url, partial, have, watch, progress, size => total = size, ct).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (IsInterruption(e, ct))
                {
                    if (attempt >= MaxAttempts && partial.Length == 0)
                    {
                        partial.Dispose();
                        File.Delete(partialPath); // nothing to resume
                        throw new ElmoDownloadException($"Cannot download '{url}' ({attempt} attempts): {Describe(e)}.", e) { Url = url };
                    }
                    if (attempt >= MaxAttempts)
                    {
                        string of = total is null ? "" : $" of {total}";
                        throw new ElmoDownloadException(
                            $"Download of '{url}' was interrupted {attempt} times ({Describe(e)}); {partial.Length}{of} bytes are kept in '{partialPath}' and the next run resumes from there.", e)
                        { Url = url, FilePath = partialPath };
                    }
                    await Task.Delay(RetryDelay * attempt, ct).ConfigureAwait(false);
                }
            }

            if (total is long size && partial.Length != size)
            {
                long got = partial.Length;
                partial.SetLength(0);
                throw new ElmoDownloadException($"Download of '{url}' has {got} bytes, the server announced {size}; the partial file was discarded, run again to restart.") { Url = url };
            }

            partial.Position = 0;
            string actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(partial, ct).ConfigureAwait(false));
            if (expected is not null && actual != expected)
            {
                partial.Dispose();
                File.Delete(partialPath);
                throw new ElmoDownloadException($"Checksum mismatch for '{url}': expected sha256 {expected}, got {actual}; the download was deleted.") { Url = url, FilePath = final };
            }
            Record(final, actual);
        }
        File.Move(partialPath, final, overwrite: true);
        return final;
    }

    /// <summary>
    /// One HTTP request: appends the body to <paramref name="partial"/> from byte <paramref name="have"/> (or restarts at 0),
    /// telling <paramref name="announce"/> the file's total size as soon as the server states it.
    /// </summary>
    private async Task ReceiveAsync(Uri url, FileStream partial, long have, Stopwatch watch, Action<DownloadProgress>? progress, Action<long?> announce, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);

        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(StallTimeout);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        long? total;
        long start;
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent when have > 0:
                var range = response.Content.Headers.ContentRange;
                if (range?.From != have)
                {
                    throw new HttpRequestException($"the server answered the resume request with range {range?.From}-{range?.To}, not {have}-");
                }
                total = range.Length;
                start = have;
                announce(total);
                break;
            case HttpStatusCode.OK:
                // A fresh download, or a server that ignores Range: restart cleanly from byte 0.
                total = response.Content.Headers.ContentLength;
                start = 0;
                announce(total);
                break;
            case HttpStatusCode.RequestedRangeNotSatisfiable when have > 0:
                long? known = response.Content.Headers.ContentRange?.Length;
                announce(known);
                if (known == have) return; // the partial file was already complete
                partial.SetLength(0);
                throw new HttpRequestException($"the server refused to resume at byte {have} (it reports {known?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} size); restarting");
            default:
                var e = new ElmoDownloadException($"Cannot download '{url}': HTTP {(int)response.StatusCode} {response.ReasonPhrase}.") { Url = url };
                if ((int)response.StatusCode >= 500) throw new HttpRequestException(e.Message, e, response.StatusCode);
                throw e;
        }

        partial.SetLength(start);
        partial.Position = start;
        progress?.Invoke(new DownloadProgress(url, start, total, start, watch.Elapsed));
        await using var body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        var buffer = new byte[1 << 16];
        long position = start;
        while (true)
        {
            stall.CancelAfter(StallTimeout);
            int read = await body.ReadAsync(buffer, stall.Token).ConfigureAwait(false);
            if (read == 0) break;
            try
            {
                await partial.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new ElmoDownloadException($"Cannot write '{partial.Name}' while downloading '{url}': {e.Message}", e) { Url = url, FilePath = partial.Name };
            }
            position += read;
            progress?.Invoke(new DownloadProgress(url, position, total, start, watch.Elapsed));
        }
        await partial.FlushAsync(ct).ConfigureAwait(false);
        if (total is long size && position < size)
        {
            throw new IOException($"the connection closed after {position} of {size} bytes");
        }
    }

    private static bool IsInterruption(Exception e, CancellationToken ct) => e switch
    {
        ElmoDownloadException => false,
        OperationCanceledException => !ct.IsCancellationRequested, // a stall, not the caller's cancellation
        HttpRequestException or IOException => true,
        _ => false,
    };

    private string Describe(Exception e) => e is OperationCanceledException
        ? $"no data for {StallTimeout.TotalSeconds:0} s"
        : e.Message;

    private static string Record(string final, string sha256)
    {
        AtomicFile.Write(final + ".sha256", tmp => File.WriteAllText(tmp, $"{sha256}  {Path.GetFileName(final)}\n"));
        return sha256;
    }

    private static bool IsSha256(string s) => s.Length == 64 && s.All(char.IsAsciiHexDigit);
}
