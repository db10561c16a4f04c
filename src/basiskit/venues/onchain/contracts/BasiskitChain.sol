// SPDX-License-Identifier: MIT
// basiskit's own contracts on the local AAVE v3 market (compiled with solc-js by venues/onchain/solidity.py).
pragma solidity ^0.8.10;

interface IERC20Min {
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
    function balanceOf(address who) external view returns (uint256);
}

interface IMintable {
    function mint(address account, uint256 value) external returns (bool);
}

interface IPoolMin {
    function supply(address asset, uint256 amount, address onBehalfOf, uint16 referralCode) external;
    function withdraw(address asset, uint256 amount, address to) external returns (uint256);
    function borrow(address asset, uint256 amount, uint256 interestRateMode, uint16 referralCode, address onBehalfOf) external;
    function repay(address asset, uint256 amount, uint256 interestRateMode, address onBehalfOf) external returns (uint256);
    function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes calldata params, uint16 referralCode) external;
}

/// A Chainlink-style price answer (8 decimals, USD) that the keeper sets from the data each step.
contract PriceFeed {
    address public immutable keeper;
    int256 private _answer;

    constructor(int256 answer, address keeper_) {
        keeper = keeper_;
        _answer = answer;
    }

    function setAnswer(int256 answer) external {
        require(msg.sender == keeper, "PriceFeed: keeper only");
        _answer = answer;
    }

    function latestAnswer() external view returns (int256) {
        return _answer;
    }

    function decimals() external pure returns (uint8) {
        return 8;
    }
}

/// Staking and DEX legs of the local market: tokenIn is taken, tokenOut (a mintable test token) is
/// minted at the rate the keeper quoted for the pair (amountOut = amountIn x num / den, exact when the
/// quote is the leg's own amounts), i.e. at the simulator's staking exchange rate or DEX fill of the
/// step. No AMM: the chain here checks AAVE.
contract Settlement {
    address public immutable keeper;
    mapping(address => mapping(address => uint256[2])) public quote;

    constructor() {
        keeper = msg.sender;
    }

    function setQuote(address tokenIn, address tokenOut, uint256 num, uint256 den) external {
        require(msg.sender == keeper, "Settlement: keeper only");
        quote[tokenIn][tokenOut] = [num, den];
    }

    function swap(address tokenIn, address tokenOut, uint256 amountIn) external returns (uint256 out) {
        uint256[2] memory q = quote[tokenIn][tokenOut];
        require(q[1] > 0, "Settlement: no quote");
        require(IERC20Min(tokenIn).transferFrom(msg.sender, address(this), amountIn), "Settlement: pay in");
        out = amountIn * q[0] / q[1];
        require(IMintable(tokenOut).mint(msg.sender, out), "Settlement: mint");
    }
}

/// One transaction for a group of legs on behalf of its owner, optionally inside an AAVE v3 flash loan
/// (flashLoanSimple): the owner's balances of ``tokens`` are pulled in, the steps run in order, the loan
/// plus premium is left for the pool to pull, the rest goes back to the owner. Any failing step, or a
/// loan the steps do not cover, reverts the whole transaction.
/// Needs from the owner: ERC20 approvals of ``tokens`` and of the aTokens it withdraws, and credit
/// delegation (approveDelegation) on the variable debt tokens it borrows.
contract LoopExecutor {
    uint8 constant SUPPLY = 1;
    uint8 constant WITHDRAW = 2;   // token: the asset, aux: its aToken; amount: aToken units pulled from the owner
    uint8 constant BORROW = 3;     // variable rate, on behalf of the owner
    uint8 constant REPAY = 4;      // variable debt of the owner
    uint8 constant SWAP = 5;       // token -> aux through the Settlement

    struct Step {
        uint8 op;
        address token;
        uint256 amount;
        address aux;
    }

    address public immutable owner;
    IPoolMin public immutable pool;
    Settlement public immutable settlement;

    constructor(address pool_, address settlement_) {
        owner = msg.sender;
        pool = IPoolMin(pool_);
        settlement = Settlement(settlement_);
    }

    function run(address flashAsset, uint256 flashAmount, address[] calldata tokens, Step[] calldata steps) external {
        require(msg.sender == owner, "LoopExecutor: owner only");
        if (flashAmount == 0) {
            _pull(tokens);
            _exec(steps);
            _giveBack(tokens, address(0), 0);
        } else {
            pool.flashLoanSimple(address(this), flashAsset, flashAmount, abi.encode(tokens, steps), 0);
        }
    }

    function executeOperation(address asset, uint256 amount, uint256 premium, address initiator, bytes calldata params)
        external returns (bool)
    {
        require(msg.sender == address(pool) && initiator == address(this), "LoopExecutor: not our flash loan");
        (address[] memory tokens, Step[] memory steps) = abi.decode(params, (address[], Step[]));
        _pull(tokens);
        _exec(steps);
        uint256 owed = amount + premium;
        require(IERC20Min(asset).balanceOf(address(this)) >= owed, "LoopExecutor: flash loan not covered");
        IERC20Min(asset).approve(address(pool), owed);
        _giveBack(tokens, asset, owed);
        return true;
    }

    function _pull(address[] memory tokens) internal {
        for (uint256 i = 0; i < tokens.length; i++) {
            uint256 b = IERC20Min(tokens[i]).balanceOf(owner);
            if (b > 0) require(IERC20Min(tokens[i]).transferFrom(owner, address(this), b), "LoopExecutor: pull");
        }
    }

    function _giveBack(address[] memory tokens, address keep, uint256 keepAmount) internal {
        for (uint256 i = 0; i < tokens.length; i++) {
            uint256 b = IERC20Min(tokens[i]).balanceOf(address(this));
            if (tokens[i] == keep) b -= keepAmount;
            if (b > 0) require(IERC20Min(tokens[i]).transfer(owner, b), "LoopExecutor: give back");
        }
    }

    /// ``amount``, or the balance held when it is short of it by wei rounding only (at most
    /// amount / 1e9 + 1000 wei: a leg's amount converted from the simulator's float units).
    function _have(address token, uint256 amount) internal view returns (uint256) {
        uint256 b = IERC20Min(token).balanceOf(address(this));
        if (amount <= b) return amount;
        require(amount - b <= amount / 1e9 + 1000, "LoopExecutor: balance short of a leg");
        return b;
    }

    function _exec(Step[] memory steps) internal {
        for (uint256 i = 0; i < steps.length; i++) {
            Step memory s = steps[i];
            if (s.op == SUPPLY || s.op == REPAY || s.op == SWAP) s.amount = _have(s.token, s.amount);
            if (s.op == SUPPLY) {
                IERC20Min(s.token).approve(address(pool), s.amount);
                pool.supply(s.token, s.amount, owner, 0);
            } else if (s.op == WITHDRAW) {
                require(IERC20Min(s.aux).transferFrom(owner, address(this), s.amount), "LoopExecutor: aToken");
                pool.withdraw(s.token, type(uint256).max, address(this));
            } else if (s.op == BORROW) {
                pool.borrow(s.token, s.amount, 2, 0, owner);
            } else if (s.op == REPAY) {
                IERC20Min(s.token).approve(address(pool), s.amount);
                pool.repay(s.token, s.amount, 2, owner);
            } else if (s.op == SWAP) {
                IERC20Min(s.token).approve(address(settlement), s.amount);
                settlement.swap(s.token, s.aux, s.amount);
            } else {
                revert("LoopExecutor: unknown step");
            }
        }
    }
}

interface IMockRateStrategy {
    function setLiquidityRate(uint256 liquidityRate) external;
    function setVariableBorrowRate(uint256 variableBorrowRate) external;
}

/// The local market's keeper: one transaction per backtest step sets the oracle answers, the reserves'
/// rates (AAVE's MockReserveInterestRateStrategy) and makes each listed reserve take them (a supply of
/// ``pokeAmount`` wei minted for the purpose: AAVE updates a reserve's rates on every supply).
contract MarketKeeper {
    address public immutable admin;
    IPoolMin public immutable pool;

    constructor(address pool_) {
        admin = msg.sender;
        pool = IPoolMin(pool_);
    }

    function step(
        address[] calldata feeds, int256[] calldata answers,
        address[] calldata strategies, uint256[] calldata liquidityRates, uint256[] calldata borrowRates,
        address[] calldata assets, uint256[] calldata pokeAmounts
    ) external {
        require(msg.sender == admin, "MarketKeeper: admin only");
        for (uint256 i = 0; i < feeds.length; i++) PriceFeed(feeds[i]).setAnswer(answers[i]);
        for (uint256 i = 0; i < strategies.length; i++) {
            IMockRateStrategy(strategies[i]).setLiquidityRate(liquidityRates[i]);
            IMockRateStrategy(strategies[i]).setVariableBorrowRate(borrowRates[i]);
        }
        for (uint256 i = 0; i < assets.length; i++) {
            IMintable(assets[i]).mint(address(this), pokeAmounts[i]);
            IERC20Min(assets[i]).approve(address(pool), pokeAmounts[i]);
            pool.supply(assets[i], pokeAmounts[i], address(this), 0);
        }
    }
}
