namespace RetailCam.Tests.Support;

/// <summary>
/// Tests that seed libtorch's process-wide random generator and compare what it draws (the trainer's resume
/// test). Any other test that builds or trains a network draws from the same generator, so these run alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GlobalGeneratorCollection
{
    public const string Name = "libtorch's global generator";
}
