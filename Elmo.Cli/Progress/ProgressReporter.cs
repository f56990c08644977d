using System.Diagnostics;
using System.Globalization;

namespace Elmo.Cli.Progress;

/// <summary>
/// Progress on standard error: a live bar redrawn in place when it is a terminal, plain lines at an interval
/// when it is not (a log file, a pipe, AllenNLP's <c>--file-friendly-logging</c>), nothing when quiet.
/// </summary>
internal sealed class ProgressReporter
{
    private static readonly TimeSpan RedrawInterval = TimeSpan.FromMilliseconds(100);
    private readonly CliConsole _console;
    private readonly bool _live;
    private readonly bool _quiet;
    private readonly Stopwatch _sinceLast = new();
    private int _drawnWidth;

    /// <summary>Creates a reporter.</summary>
    /// <param name="console">Where to write.</param>
    /// <param name="quiet">Report nothing.</param>
    /// <param name="plain">Plain lines even on a terminal.</param>
    public ProgressReporter(CliConsole console, bool quiet, bool plain = false)
    {
        _console = console;
        _quiet = quiet;
        _live = console.ErrorIsTerminal && !plain;
    }

    /// <summary>Whether anything is written.</summary>
    public bool Enabled => !_quiet;

    /// <summary>Reports progress; throttled (live: 10 redraws a second; plain: one line per interval).</summary>
    /// <param name="fraction">Done, 0…1, or null when unknown.</param>
    /// <param name="text">The figures, e.g. "120/500 sentences, 3100 tokens/s, ETA 0:42".</param>
    /// <param name="force">Redraw a live bar now, whatever the interval (the last update, so the bar ends at 100%); plain lines keep their interval.</param>
    public void Update(double? fraction, Func<string> text, bool force = false)
    {
        if (_quiet) return;
        var interval = _live ? RedrawInterval : _console.ProgressInterval;
        if (!(force && _live) && _sinceLast.IsRunning && _sinceLast.Elapsed < interval) return;
        _sinceLast.Restart();
        if (_live)
        {
            string line = (fraction is double f ? Bar(f) + " " : "") + text();
            int width = Math.Max(20, TerminalWidth() - 1);
            if (line.Length > width) line = line[..width];
            _console.Error.Write("\r" + line + new string(' ', Math.Max(0, _drawnWidth - line.Length)));
            _drawnWidth = line.Length;
        }
        else
        {
            _console.Error.WriteLine("elmo: " + text());
        }
        _console.Error.Flush();
    }

    /// <summary>Ends the live bar (moves to a new line) so that the next message starts clean.</summary>
    public void Finish()
    {
        if (_live && _drawnWidth > 0)
        {
            _console.Error.WriteLine();
            _drawnWidth = 0;
        }
        _sinceLast.Reset();
    }

    /// <summary>Writes a note line (not throttled), ending a live bar first.</summary>
    /// <param name="message">The note, without the "elmo: " prefix.</param>
    public void Note(string message)
    {
        if (_quiet) return;
        Finish();
        _console.Error.WriteLine("elmo: " + message);
    }

    /// <summary><c>h:mm:ss</c> or <c>m:ss</c>.</summary>
    public static string Duration(double seconds)
    {
        if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0) return "?";
        var t = TimeSpan.FromSeconds(Math.Round(seconds));
        return t.TotalHours >= 1
            ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
    }

    /// <summary>Bytes as B, KB, MB or GB (powers of 1000, one decimal).</summary>
    public static string Bytes(double bytes) => bytes switch
    {
        < 1e3 => string.Create(CultureInfo.InvariantCulture, $"{bytes:0} B"),
        < 1e6 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:0.0} KB"),
        < 1e9 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:0.0} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:0.00} GB"),
    };

    private static string Bar(double fraction)
    {
        const int Width = 16;
        fraction = Math.Clamp(fraction, 0, 1);
        int filled = (int)Math.Round(fraction * Width);
        return string.Create(CultureInfo.InvariantCulture, $"[{new string('#', filled)}{new string('-', Width - filled)}] {fraction * 100,3:0}%");
    }

    private static int TerminalWidth()
    {
        try
        {
            int w = Console.WindowWidth;
            return w > 0 ? w : 80;
        }
        catch (IOException)
        {
            return 80;
        }
    }
}
