using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace RetailCam.Cli.Commands;

/// <summary>
/// The contract every verb keeps: with --json the last stdout line is one JSON object; on failure
/// the exit code is non-zero and stderr gets one line saying what went wrong.
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
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Console.Error.WriteLine($"error: {OneLine(ex)}");
            if (Environment.GetEnvironmentVariable("RETAILCAM_TRACE") == "1") Console.Error.WriteLine(ex);
            return 1;
        }
    }

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    private static string OneLine(Exception ex)
    {
        var message = ex is AggregateException { InnerExceptions.Count: 1 } aggregate ? aggregate.InnerExceptions[0].Message : ex.Message;
        return message.ReplaceLineEndings(" ");
    }
}
