// Removed once the tunnel module has real sources (an empty glob makes an empty library).
namespace ferry::tunnel {}
