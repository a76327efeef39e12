using System.Diagnostics;

namespace RetailCam.Cli.Commands;

/// <summary>
/// Progress on stderr: redrawn in place on a terminal, a line every few seconds when stderr is a
/// file or a pipe, so logs stay readable and stdout stays clean for --json.
/// </summary>
internal sealed class CliProgress
{
    private readonly Lock gate = new();
    private readonly Stopwatch sinceLastLine = Stopwatch.StartNew();
    private readonly bool interactive = !Console.IsErrorRedirected;
    private readonly TimeSpan lineInterval;
    private int lastWidth;

    public CliProgress(TimeSpan? lineInterval = null) => this.lineInterval = lineInterval ?? TimeSpan.FromSeconds(5);

    public void Report(double fraction, string text, bool force = false)
    {
        lock (gate)
        {
            var bar = Bar(fraction);
            var line = $"{bar} {fraction,6:P1}  {text}";
            if (interactive)
            {
                var padded = line.PadRight(lastWidth);
                lastWidth = line.Length;
                Console.Error.Write("\r" + padded);
            }
            else if (force || sinceLastLine.Elapsed >= lineInterval)
            {
                Console.Error.WriteLine(line);
                sinceLastLine.Restart();
            }
        }
    }

    /// <summary>A message on its own line (ends any in-place bar first).</summary>
    public void Message(string text)
    {
        lock (gate)
        {
            if (interactive && lastWidth > 0) Console.Error.WriteLine();
            lastWidth = 0;
            Console.Error.WriteLine(text);
        }
    }

    public void Done()
    {
        lock (gate)
        {
            if (interactive && lastWidth > 0) Console.Error.WriteLine();
            lastWidth = 0;
        }
    }

    private static string Bar(double fraction)
    {
        const int width = 24;
        var filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * width);
        return "[" + new string('#', filled) + new string('.', width - filled) + "]";
    }
}
