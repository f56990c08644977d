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
/// <item>verified before it takes its final name: the size against <c>Content-Length</c> / <c>Content-Range</c>,
/// the SHA-256 against the expected value when one is known (<c>URL#sha256=HEX</c>), and what the file is: model files
/// fetched with <see cref="FetchModel"/> (or a validator) must load (options that parse, weights that open as HDF5
/// with every dataset the options call for), so a truncated response without a size, or an HTML error page sent
/// with status 200, is deleted, never cached;</item>
/// <item>the SHA-256 recorded in a sidecar <c>FILE.sha256</c> (the <c>sha256sum</c> format, its modification time set
/// to the file's), then the partial file renamed to <c>FILE</c>: a file under its final name is always complete.</item>
/// </list>
/// A cached file is used without a request. When its modification time is no longer the one recorded (it was written
/// to, or copied without its times), its SHA-256 is computed again: a file that no longer matches is refused as
/// damaged. A concurrent download of the same URL by another process is refused rather than interleaved.
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
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known: a download that does not match is deleted and refused;
    /// a cached file recorded with another hash is downloaded again, and replaced only when the new download matches.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept and the next call resumes it.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">HTTP error, repeated interruptions, size or checksum mismatch, a damaged cached file, or an unwritable cache.</exception>
    public string Fetch(Uri url, string? expectedSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FetchAsync(url, expectedSha256, progress, null, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, CancellationToken)"/> with a check of what was downloaded:
    /// <paramref name="validate"/> gets the complete download before it takes its final name, and an
    /// <see cref="ElmoException"/> from it means the download is not the file expected (a truncated file whose size the
    /// server did not state, an HTML page): it is deleted and refused, never cached.
    /// </summary>
    /// <param name="url">An http(s) URL.</param>
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known, else null.</param>
    /// <param name="progress">Called as bytes arrive; null for none.</param>
    /// <param name="validate">Throws an <see cref="ElmoException"/> when the file at the path it is given is not usable; null for no check.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">As for <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, CancellationToken)"/>, or the download failed <paramref name="validate"/>.</exception>
    public string Fetch(Uri url, string? expectedSha256, Action<DownloadProgress>? progress, Action<string>? validate, CancellationToken cancellationToken) =>
        FetchAsync(url, expectedSha256, progress, validate, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Asynchronous <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, CancellationToken)"/>.</summary>
    /// <param name="url">An http(s) URL.</param>
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">HTTP error, repeated interruptions, size or checksum mismatch, a damaged cached file, or an unwritable cache.</exception>
    public Task<string> FetchAsync(Uri url, string? expectedSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FetchAsync(url, expectedSha256, progress, null, cancellationToken);

    /// <summary>Asynchronous <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, Action{string}?, CancellationToken)"/>.</summary>
    /// <param name="url">An http(s) URL.</param>
    /// <param name="expectedSha256">The file's SHA-256 (hex) when known, else null.</param>
    /// <param name="progress">Called as bytes arrive; null for none.</param>
    /// <param name="validate">Throws an <see cref="ElmoException"/> when the downloaded file is not usable; null for no check.</param>
    /// <param name="cancellationToken">Stops the download; the partial file is kept.</param>
    /// <returns>The path of the complete, verified file.</returns>
    /// <exception cref="ElmoDownloadException">As for <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, Action{string}?, CancellationToken)"/>.</exception>
    public async Task<string> FetchAsync(Uri url, string? expectedSha256, Action<DownloadProgress>? progress, Action<string>? validate, CancellationToken cancellationToken)
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
        string folder = Path.GetDirectoryName(final)!;
        CheckCacheDirectory(url);
        try
        {
            string? cached = File.Exists(final) ? CachedSha256(url, final) : null;
            if (cached is not null && (expected is null || cached == expected)) return final;
            // Not cached, or cached with another hash than the one pinned now: download, and replace the cached file
            // only if the download matches the pin (a wrong pin must not cost a good file).
            System.IO.Directory.CreateDirectory(folder);
            return await DownloadAsync(url, final, expected, cached, progress, validate, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ElmoDownloadException($"Cannot download '{url}' into the cache '{Directory}': {e.Message}", e) { Url = url, FilePath = final };
        }
        finally
        {
            RemoveIfEmpty(folder);
        }
    }

    /// <summary>
    /// Returns the cached options and weights of a model, downloading them first when needed, each checked before it
    /// takes its final name: the options must parse, the weights must load with those options (every dataset present
    /// with its shape, readable, finite). This is what <c>elmo --model NAME</c> and <see cref="ElmoModel.FromPublished(PublishedModel, ModelCache?, Action{DownloadProgress}?, CancellationToken)"/> use.
    /// </summary>
    /// <param name="optionsUrl">The options JSON.</param>
    /// <param name="weightsUrl">The weights HDF5.</param>
    /// <param name="optionsSha256">The options file's SHA-256 when known.</param>
    /// <param name="weightsSha256">The weight file's SHA-256 when known.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops a download (resumable).</param>
    /// <returns>The two paths in the cache.</returns>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded, or what was downloaded is not a usable options or weight file.</exception>
    public ModelFiles FetchModel(Uri optionsUrl, Uri weightsUrl, string? optionsSha256 = null, string? weightsSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default) =>
        FetchModelAsync(optionsUrl, weightsUrl, optionsSha256, weightsSha256, progress, cancellationToken).GetAwaiter().GetResult();

    /// <summary>Asynchronous <see cref="FetchModel"/>.</summary>
    /// <param name="optionsUrl">The options JSON.</param>
    /// <param name="weightsUrl">The weights HDF5.</param>
    /// <param name="optionsSha256">The options file's SHA-256 when known.</param>
    /// <param name="weightsSha256">The weight file's SHA-256 when known.</param>
    /// <param name="progress">Called as bytes arrive.</param>
    /// <param name="cancellationToken">Stops a download (resumable).</param>
    /// <returns>The two paths in the cache.</returns>
    /// <exception cref="ElmoDownloadException">A file cannot be downloaded, or what was downloaded is not a usable options or weight file.</exception>
    public async Task<ModelFiles> FetchModelAsync(Uri optionsUrl, Uri weightsUrl, string? optionsSha256 = null, string? weightsSha256 = null, Action<DownloadProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        string options = await FetchAsync(optionsUrl, optionsSha256, progress, CheckOptions, cancellationToken).ConfigureAwait(false);
        var architecture = ElmoOptions.Load(options);
        string weights = await FetchAsync(weightsUrl, weightsSha256, progress, CheckWeights(architecture), cancellationToken).ConfigureAwait(false);
        return new ModelFiles(options, weights);
    }

    /// <summary>A download check for an options file: it must parse (<see cref="ElmoOptions.Load"/>).</summary>
    /// <param name="path">The downloaded file.</param>
    /// <exception cref="ElmoOptionsException">It is not an options file.</exception>
    public static void CheckOptions(string path) => ElmoOptions.Load(path);

    /// <summary>A download check for a weight file: it must load with <paramref name="options"/> (<see cref="ElmoWeights.Load(string, ElmoOptions)"/>).</summary>
    /// <param name="options">The architecture the weights are for.</param>
    /// <returns>The check, for <see cref="Fetch(Uri, string?, Action{DownloadProgress}?, Action{string}?, CancellationToken)"/>.</returns>
    public static Action<string> CheckWeights(ElmoOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return path => ElmoWeights.Load(path, options);
    }

    /// <summary>
    /// The SHA-256 of a cached file: the recorded one while the file's modification time is still the one recorded
    /// beside it, else computed again (and recorded for a file put there by hand). A file that no longer matches what
    /// was recorded is refused.
    /// </summary>
    private static string CachedSha256(Uri url, string final)
    {
        string sidecar = final + ".sha256";
        string? recorded = RecordedSha256(final);
        if (recorded is not null && File.GetLastWriteTimeUtc(final) == File.GetLastWriteTimeUtc(sidecar)) return recorded;
        string actual = ComputeSha256(final);
        if (recorded is not null && actual != recorded)
        {
            throw new ElmoDownloadException(
                $"The cached file '{final}' no longer matches the SHA-256 recorded when it was downloaded from '{url}' ({recorded}; now {actual}): it was modified or damaged. Delete it, and elmo downloads it again.")
            { Url = url, FilePath = final };
        }
        Record(final, actual, final); // first seen, or the same bytes with another modification time (a copied cache)
        return actual;
    }

    /// <summary>Refuses a cache directory that is a file, or lies under one, naming it (the OS says only "Could not find a part of the path").</summary>
    private void CheckCacheDirectory(Uri url)
    {
        for (string? at = Directory; at is not null; at = Path.GetDirectoryName(at))
        {
            if (System.IO.Directory.Exists(at)) return;
            if (File.Exists(at))
            {
                throw new ElmoDownloadException(at == Directory
                    ? $"Cannot use '{Directory}' as the download cache: it is a file, not a directory."
                    : $"Cannot use '{Directory}' as the download cache: '{at}' is a file, not a directory.")
                { Url = url, FilePath = at };
            }
        }
    }

    /// <summary>Removes a URL's folder when a failed download left it empty.</summary>
    private static void RemoveIfEmpty(string folder)
    {
        try
        {
            if (System.IO.Directory.Exists(folder) && !System.IO.Directory.EnumerateFileSystemEntries(folder).Any()) System.IO.Directory.Delete(folder);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // another process just put something there: leave it
        }
    }

    private async Task<string> DownloadAsync(Uri url, string final, string? expected, string? cached, Action<DownloadProgress>? progress, Action<string>? validate, CancellationToken ct)
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
        string? contentType = null;
        string actual;
        using (partial)
        {
            for (int attempt = 1; ; attempt++)
            {
                long have = partial.Length;
                try
                {
                    await ReceiveAsync(url, partial, have, watch, progress, size => total = size, type => contentType = type, ct).ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (!IsInterruption(e, ct) && partial.Length == 0)
                {
                    // An HTTP error, or a cancellation, before any byte: nothing to resume, so no empty .partial stays.
                    partial.Dispose();
                    File.Delete(partialPath);
                    throw;
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
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(partial, ct).ConfigureAwait(false));
            if (expected is not null && actual != expected)
            {
                partial.Dispose();
                File.Delete(partialPath);
                string kept = cached is null ? "" : $"; the file cached before (sha256 {cached}) was kept";
                throw new ElmoDownloadException($"Checksum mismatch for '{url}': expected sha256 {expected}, got {actual}; the download was deleted{kept}.") { Url = url, FilePath = final };
            }
            partial.Flush();
        }

        if (validate is not null)
        {
            try
            {
                validate(partialPath);
            }
            catch (ElmoException e)
            {
                File.Delete(partialPath);
                string html = contentType is not null && contentType.Contains("html", StringComparison.OrdinalIgnoreCase) ? $" The server sent '{contentType}', a web page, not the file." : "";
                throw new ElmoDownloadException($"The file downloaded from '{url}' is not usable, so it was deleted and not cached: {e.Message}{html}", e) { Url = url, FilePath = final };
            }
        }
        // The record first, then the rename: a process killed in between leaves a record that the file under the final
        // name (an older one, or none) does not match, which the next run notices (CachedSha256).
        Record(final, actual, partialPath);
        File.Move(partialPath, final, overwrite: true);
        return final;
    }

    /// <summary>
    /// One HTTP request: appends the body to <paramref name="partial"/> from byte <paramref name="have"/> (or restarts at 0),
    /// telling <paramref name="announce"/> the file's total size as soon as the server states it.
    /// </summary>
    private async Task ReceiveAsync(Uri url, FileStream partial, long have, Stopwatch watch, Action<DownloadProgress>? progress, Action<long?> announce, Action<string?> contentType, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(have, null);

        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        stall.CancelAfter(StallTimeout);
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
        long? total;
        long start;
        contentType(response.Content.Headers.ContentType?.MediaType);
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
                // A server error may pass: retried like a dropped connection, and reported once as "HTTP <code> <reason>".
                string status = $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd();
                if ((int)response.StatusCode >= 500) throw new HttpRequestException(status, null, response.StatusCode);
                throw new ElmoDownloadException($"Cannot download '{url}': {status}.") { Url = url };
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

    /// <summary>Writes <c>FINAL.sha256</c>, with the modification time of <paramref name="described"/> (the file it describes, which keeps it when renamed to FINAL).</summary>
    private static void Record(string final, string sha256, string described)
    {
        string sidecar = final + ".sha256";
        AtomicFile.Write(sidecar, tmp => File.WriteAllText(tmp, $"{sha256}  {Path.GetFileName(final)}\n"));
        File.SetLastWriteTimeUtc(sidecar, File.GetLastWriteTimeUtc(described));
    }

    private static bool IsSha256(string s) => s.Length == 64 && s.All(char.IsAsciiHexDigit);
}
