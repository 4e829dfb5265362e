namespace MemNotebook.Cli;

public static class Program
{
    public static int Main(string[] args) => MemnbCommandLine.Run(args, Console.Out, Console.Error);
}
