using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;

namespace RetailCam.Engine.Data;

public enum DatasetSplit
{
    Train,
    Validation,
    Test,
}

/// <summary>
/// Decides a file's split from a SHA-256 of its relative path alone, so the decision never
/// depends on what else is in the folder: adding photos never moves the ones already assigned,
/// and the same file lands in the same split on every machine and run (unlike
/// string.GetHashCode, which is randomised per process). Each class gets the fractions in
/// expectation, which is the stratification that stays stable: exact per-class quotas would
/// have to move existing files whenever new ones arrive.
/// </summary>
public sealed class StableSplitter
{
    [Range(0.0, 1.0)]
    public double TrainFraction { get; }

    [Range(0.0, 1.0)]
    public double ValidationFraction { get; }

    public double TestFraction => 1 - TrainFraction - ValidationFraction;

    public static StableSplitter Default { get; } = new(0.8, 0.1);

    public StableSplitter(double trainFraction, double validationFraction)
    {
        if (!(trainFraction >= 0 && validationFraction >= 0 && trainFraction + validationFraction <= 1 + 1e-9))
            throw new ArgumentOutOfRangeException(nameof(trainFraction), $"Split fractions must be ≥ 0 and sum to at most 1 (train {trainFraction}, validation {validationFraction}).");
        TrainFraction = trainFraction;
        ValidationFraction = validationFraction;
    }

    /// <summary>Relative path with '/' separators, as the catalogue stores it (case is kept).</summary>
    public DatasetSplit Assign(string relativePath)
    {
        var position = Position(relativePath);
        if (position < TrainFraction) return DatasetSplit.Train;
        if (position < TrainFraction + ValidationFraction) return DatasetSplit.Validation;
        return DatasetSplit.Test;
    }

    /// <summary>A uniform number in [0,1) fixed by the path.</summary>
    public static double Position(string relativePath)
    {
        ArgumentNullException.ThrowIfNull(relativePath);
        var normalised = relativePath.Replace('\\', '/');
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(normalised), hash);
        var top53 = System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11;
        return top53 / (double)(1UL << 53);
    }
}
