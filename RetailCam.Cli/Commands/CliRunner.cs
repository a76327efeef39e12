using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RetailCam.Cli.Commands;

/// <summary>
/// The contract every verb keeps: with --json the last stdout line is one JSON object; on failure
/// the exit code is non-zero and stderr gets one line saying what went wrong (2 for a
/// <see cref="UsageException"/>, 1 otherwise).
/// </summary>
internal static class CliRunner
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>The --json flag shared by all verbs.</summary>
    public static Option<bool> JsonOption() => new("--json") { Description = "Print one JSON object on stdout as the last line." };

    public static async Task<int> InvokeAsync(RootCommand root, string[] args)
    {
        try
        {
            return await root.Parse(args).InvokeAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OneLine(ex)}");
            return 1;
        }
    }

    /// <summary>Runs a verb body, turning any failure into the one-line error of the contract.</summary>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("error: cancelled");
            return 130;
        }
        catch (UsageException ex)
        {
            Console.Error.WriteLine($"error: {OneLine(ex)}");
            return UsageExitCode;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OneLine(ex)}");
            if (Environment.GetEnvironmentVariable("RETAILCAM_TRACE") == "1") Console.Error.WriteLine(ex);
            return 1;
        }
    }

    /// <summary>What a verb exits with when it refused its command line and did nothing.</summary>
    public const int UsageExitCode = 2;

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    private static string OneLine(Exception ex)
    {
        var message = ex is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : ex.Message;
        return message.ReplaceLineEndings(" ");
    }
}

/// <summary>
/// A command line a verb refuses before doing anything (a value out of its bounds, an address it may
/// not send to): exit code 2, so a script can tell it from work that was tried and failed (1).
/// </summary>
internal sealed class UsageException(string message) : ArgumentException(message);
