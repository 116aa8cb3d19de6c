using WebDemo;

DemoApp.Create(args).Run();

// WebApplicationFactory<Program> in the tests needs the entry point type to be visible.
public partial class Program;
