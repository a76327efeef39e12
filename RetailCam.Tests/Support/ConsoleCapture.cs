namespace RetailCam.Tests.Support;

/// <summary>
/// Runs CLI verbs in-process with their stdout and stderr captured. The console is process-wide and
/// test classes run in parallel, so every capture takes one lock: two verbs never swap it at once.
/// </summary>
public static class ConsoleCapture
{
    private static readonly SemaphoreSlim Gate = new(1, 1);

    /// <param name="stdin">What the verb reads on standard input (a password for --password-stdin); null leaves it alone.</param>
    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(Func<Task<int>> verb, TimeSpan timeout, string? stdin = null)
    {
        await Gate.WaitAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var (previousOut, previousError, previousIn) = (Console.Out, Console.Error, Console.In);
        Console.SetOut(TextWriter.Synchronized(stdout));
        Console.SetError(TextWriter.Synchronized(stderr));
        if (stdin is not null) Console.SetIn(new StringReader(stdin));
        try
        {
            var exit = await verb().WaitAsync(timeout);
            return (exit, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(previousOut);
            Console.SetError(previousError);
            Console.SetIn(previousIn);
            Gate.Release();
        }
    }
}
